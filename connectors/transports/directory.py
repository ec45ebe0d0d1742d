"""A watched folder: files dropped by partners (or a mounted share) taken in raw-first.

Layout ``<root>/<partner>/<document_type>/<file>``. A file is taken once it has settled
(unchanged for ``settle_seconds``); it is renamed to ``<file>.processing`` while it is
read (the rename is the claim: two nodes never take the same file), stored in the inbox,
and only then moved to ``processed/`` beside it. A file the inbox refuses (too large)
goes to ``failed/`` with a ``.reason.txt``; a transient failure puts it back as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import structlog
from pydantic import Field

from canonical.errors import PermanentError
from connectors.base import Connector, ConnectorConfig, Inbox, Receipt

__all__ = ["DirectoryConfig", "DirectorySource"]

log = structlog.get_logger("crossdock.directory")
SKIP_SUFFIXES = (".processing", ".part", ".tmp", ".partial", ".filepart", ".reason.txt")
RESERVED = {"processed", "failed"}


class DirectoryConfig(ConnectorConfig):
    root: Path = Field(description="Folder laid out `<partner>/<document_type>/`")
    settle_seconds: float = Field(1.0, ge=0, description="A file is taken once unchanged for this long")
    node: str | None = Field(None, description="This node's name, written into the claim so an operator sees "
                             "who holds a file (default: host name and process id)")
    stale_claim_seconds: float = Field(300.0, gt=0, description="A claim older than this (its node died) is released")


class DirectorySource(Connector):
    """Usage: ``DirectorySource(partner_id="*", config=DirectoryConfig(root=p), inbox=inbox).poll()``."""

    kind: ClassVar[str] = "directory"
    config_model: ClassVar[type[ConnectorConfig]] = DirectoryConfig
    config: DirectoryConfig

    def __init__(self, *, partner_id: str = "*", config: DirectoryConfig, inbox: Inbox) -> None:
        super().__init__(partner_id=partner_id, config=config, inbox=inbox)
        self.node = config.node or f"{os.uname().nodename}-{os.getpid()}"

    def candidates(self) -> Iterator[tuple[Path, str, str]]:
        root = self.config.root
        if not root.is_dir():
            return
        for partner_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if self.partner_id not in ("*", partner_dir.name):
                continue
            for type_dir in sorted(p for p in partner_dir.iterdir() if p.is_dir() and p.name not in RESERVED):
                for f in sorted(type_dir.iterdir()):
                    if f.is_file() and not f.name.startswith(".") and not f.name.endswith(SKIP_SUFFIXES):
                        yield f, partner_dir.name, type_dir.name

    def recover(self, *, all_claims: bool = False) -> int:
        """Release claims whose node died (all of them at start in the embedded default)."""
        released = 0
        root = self.config.root
        if not root.is_dir():
            return 0
        for claim in root.glob("*/*/*.processing"):
            age = time.time() - claim.stat().st_mtime
            if all_claims or age > self.config.stale_claim_seconds:
                original = claim.with_name(claim.name.rsplit(".", 2)[0])
                try:
                    os.rename(claim, original)
                    released += 1
                except FileNotFoundError:
                    continue
        return released

    def poll(self) -> int:
        stored = 0
        now = time.time()
        for path, partner, doc_type in self.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime < self.config.settle_seconds:
                continue  # still being written
            claim = path.with_name(f"{path.name}.{_safe(self.node)}.processing")
            try:
                os.rename(path, claim)
            except FileNotFoundError:
                continue  # another node claimed it first
            stored += self._take(path, claim, partner, doc_type)
        return stored

    def _take(self, path: Path, claim: Path, partner: str, doc_type: str) -> int:
        receipt = Receipt(partner_id=partner, channel="directory", document_type=doc_type, filename=path.name,
                          meta={"path": str(path)})
        try:
            with claim.open("rb") as fh:
                result = self.inbox.store(receipt, fh)
        except PermanentError as exc:
            self._move(claim, path.parent / "failed", path.name)
            (path.parent / "failed" / f"{path.name}.reason.txt").write_text(f"{exc}\n")
            log.warning("directory.refused", file=str(path), error=str(exc))
            return 0
        except Exception:
            os.rename(claim, path)  # nothing stored: leave it for the next poll
            raise
        self._move(claim, path.parent / "processed", path.name)
        log.info("directory.stored", file=str(path), receipt_id=result.receipt_id,
                 already_seen=result.already_seen)
        return 1

    @staticmethod
    def _move(claim: Path, folder: Path, name: str) -> None:
        folder.mkdir(exist_ok=True)
        target = folder / name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = folder / f"{stamp}-{name}"
        os.replace(claim, target)


def _safe(node: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in node)
