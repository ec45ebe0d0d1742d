#!/bin/sh
# Install OpenSSH's sshd (Debian package openssh-server) for the SFTP connector's tests.
# Idempotent: does nothing when /usr/sbin/sshd is already there. Needs root (CI runs as root).
#
# Usage: scripts/install-sshd.sh
set -eu

if [ -x /usr/sbin/sshd ]; then
    echo "sshd already installed: $(/usr/sbin/sshd -V 2>&1 | head -n 1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-sshd.sh: run as root (or install openssh-server yourself)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y openssh-server
echo "sshd installed: $(/usr/sbin/sshd -V 2>&1 | head -n 1)"
