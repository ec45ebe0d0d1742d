"""Run a real OpenSSH sshd for a test: loopback only, throwaway keys, internal-sftp.

Each server gets its own work folder under the system temp dir (readable by the test
user), a generated ed25519 host key, a generated client key in ``authorized_keys``, a
free 127.0.0.1 port and a config that allows one user and nothing but SFTP. As root
(CI) the user is a system account ``crossdock-sftp`` created with ``useradd`` when
missing, with a random password kept root-only in ``/var/lib/crossdock-tests`` (so
concurrent runs agree on it); otherwise sshd runs as the
current user and only key authentication is available (``password`` is ``None``).

sshd's log is printed on teardown, which pytest shows only for a failing test. Without
``/usr/sbin/sshd`` (install it with ``scripts/install-sshd.sh``) the tests are skipped,
or fail when ``CROSSDOCK_REQUIRE_SERVICES=1``.

Usage (in a test module or conftest.py)::

    from tests.support.sshd import sshd, sshd_factory  # noqa: F401

    def test_upload(sshd):
        sshd.put("inbox/a.edi", b"ISA*...")        # appears at sshd.path("inbox/a.edi")
        sshd.restart(new_host_key=True)           # a partner rotating its key
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

__all__ = [
    "SSHD",
    "SshKey",
    "Sshd",
    "generate_key",
    "require_service",
    "sshd",
    "sshd_factory",
    "start_sshd",
]

SSHD = Path("/usr/sbin/sshd")
TEST_USER = "crossdock-sftp"
PASSWORDS = Path("/var/lib/crossdock-tests")  # root-only: the test user's password


def require_service(reason: str) -> None:
    """Skip the test, or fail it when ``CROSSDOCK_REQUIRE_SERVICES=1`` (CI)."""
    if os.environ.get("CROSSDOCK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CROSSDOCK_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class SshKey:
    """A throwaway ed25519 key pair in OpenSSH formats."""

    private_pem: str
    public_line: str  # "ssh-ed25519 AAAA..."

    @property
    def fingerprint(self) -> str:
        blob = base64.b64decode(self.public_line.split()[1])
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def generate_key(passphrase: str | None = None) -> SshKey:
    key = ed25519.Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
        else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            encryption).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return SshKey(pem, public)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _test_user() -> tuple[str, int, int]:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_uid, me.pw_gid
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{TEST_USER}-{worker}" if worker else TEST_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    return name, entry.pw_uid, entry.pw_gid


def _user_password(user: str) -> str:
    """The test user's random password, kept root-only so concurrent test runs agree on it."""
    folder = PASSWORDS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{user}.password"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder)  # mode 0600
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(18))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic: a concurrent run's password wins, whole
        os.unlink(tmp)
    return path.read_text().strip()


@dataclass
class Sshd:
    """One sshd process and everything a test needs to log in to it."""

    workdir: Path
    port: int
    user: str
    uid: int
    gid: int
    password: str | None
    client_key: SshKey
    host_key: SshKey = field(default_factory=generate_key)
    process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> Path:
        """The folder the test user owns; remote paths are these local paths."""
        return self.workdir / "data"

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.public_line}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    def path(self, relative: str) -> Path:
        return self.root / relative

    def put(self, relative: str, data: bytes, *, mtime: float | None = None) -> Path:
        """Place a file as if the partner had uploaded it (owned by the test user)."""
        target = self.path(relative)
        self.mkdir(str(Path(relative).parent))
        target.write_bytes(data)
        self._own(target)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        return target

    def mkdir(self, relative: str) -> Path:
        target = self.path(relative)
        target.mkdir(parents=True, exist_ok=True)
        for p in [target, *target.parents]:
            if p == self.root or self.root not in p.parents:
                break
            self._own(p)
        return target

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def start(self) -> None:
        config = self.workdir / "sshd_config"
        host_key = self.workdir / "host_key"
        host_key.write_text(self.host_key.private_pem)
        host_key.chmod(0o600)
        (self.workdir / "authorized_keys").write_text(self.client_key.public_line + "\n")
        (self.workdir / "authorized_keys").chmod(0o644)
        config.write_text("\n".join([
            f"ListenAddress 127.0.0.1:{self.port}", f"HostKey {host_key}", "PidFile none",
            "UsePAM no", "StrictModes no", "PermitRootLogin no", f"AllowUsers {self.user}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}", "PubkeyAuthentication yes",
            f"PasswordAuthentication {'yes' if self.password else 'no'}",
            "KbdInteractiveAuthentication no", "Subsystem sftp internal-sftp",
            "ForceCommand internal-sftp", "AllowTcpForwarding no", "X11Forwarding no",
            "PermitTTY no", "MaxStartups 100", "LogLevel VERBOSE", "",
        ]))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}:\n"
                                   f"{self.log_path.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"sshd did not answer on 127.0.0.1:{self.port} within 10s:\n"
                           f"{self.log_path.read_text(errors='replace')}")

    def kill(self) -> None:
        """SIGKILL sshd and every session it forked: open connections drop at once."""
        if self.process is None:
            return
        for pid in [*_descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, new_host_key: bool = False) -> None:
        """Kill and start again on the same port, with a fresh host key if asked."""
        self.kill()
        if new_host_key:
            self.host_key = generate_key()
        self.start()


def start_sshd(*, password_auth: bool = True) -> Sshd:
    """Start one sshd (the fixtures call this); the caller kills it and removes ``workdir``."""
    if not SSHD.exists():
        require_service(f"{SSHD} is missing; run scripts/install-sshd.sh")
    user, uid, gid = _test_user()
    password = None
    if os.geteuid() == 0:
        # Always set (sshd refuses even keys for a locked account); offered only if asked.
        known = _user_password(user)
        subprocess.run(["chpasswd"], input=f"{user}:{known}".encode(), check=True,
                       capture_output=True)
        password = known if password_auth else None
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-sshd-"))
    workdir.chmod(0o755)
    server = Sshd(workdir, _free_port(), user, uid, gid, password, generate_key())
    server.root.mkdir()
    server._own(server.root)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return server


@pytest.fixture
def sshd_factory() -> Iterator[Callable[..., Sshd]]:
    """Start as many sshd servers as a test needs; each is killed and removed on teardown."""
    started: list[Sshd] = []

    def start(**options: bool) -> Sshd:
        try:
            server = start_sshd(**options)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or b""
            if isinstance(detail, bytes):
                detail = detail.decode(errors="replace")
            require_service(f"sshd could not be started: {exc} {detail}".strip())
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
        log = server.log_path.read_text(errors="replace").strip()
        if log:
            print(f"--- sshd 127.0.0.1:{server.port} ({server.workdir})\n{log}")
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
def sshd(sshd_factory: Callable[..., Sshd]) -> Sshd:
    """A fresh sshd with password and key authentication for the test user."""
    return sshd_factory()
