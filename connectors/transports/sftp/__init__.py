"""SFTP transport: collect partners' files into the inbox, deliver files to partners.

Usage:
    from connectors.transports.sftp import SftpConfig, SftpSink, SftpSource
"""

from __future__ import annotations

from connectors.transports.sftp.config import AfterStore, InboundDir, SftpConfig
from connectors.transports.sftp.errors import HostKeyRejected, SftpAuthFailed, SftpUnavailable
from connectors.transports.sftp.hostkey import HostKeyPin
from connectors.transports.sftp.sink import SftpSink
from connectors.transports.sftp.source import SftpSource

__all__ = [
    "AfterStore",
    "HostKeyPin",
    "HostKeyRejected",
    "InboundDir",
    "SftpAuthFailed",
    "SftpConfig",
    "SftpSink",
    "SftpSource",
    "SftpUnavailable",
]
