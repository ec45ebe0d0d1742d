"""Cutting a byte stream into interchanges without holding the whole file.

Both codecs know where an interchange ends (IEA / UNZ and their terminator); this loop
feeds them a growing buffer, hands each complete interchange on and drops it, so a
100 MB file of interchanges is read with memory flat at about one interchange plus one
chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from canonical.errors import ParseError

__all__ = ["cut", "locate"]

# (buffer, start, at_eof) -> end index of the interchange starting at ``start``, or None
# when more bytes are needed to know.
FindEnd = Callable[[bytes, int, bool], "int | None"]

_SPACE = b" \t\r\n\x00\x1a"  # whitespace, NUL padding and DOS EOF between interchanges
_BOM = b"\xef\xbb\xbf"


def _skip(buf: bytes, pos: int) -> int:
    if buf.startswith(_BOM, pos):
        pos += len(_BOM)
    n = len(buf)
    while pos < n and buf[pos] in _SPACE:
        pos += 1
    return pos


def cut(
    chunks: Iterator[bytes], find_end: FindEnd, *, partner: str | None
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(file offset, interchange bytes)`` for each interchange in ``chunks``."""
    buf = b""
    base = 0  # file offset of buf[0]
    pos = 0  # where the next interchange may start in buf; buf is only compacted on refill
    eof = False
    while True:
        start = _skip(buf, pos)
        end = None if start == len(buf) else find_end(buf, start, eof)
        if end is None:
            if eof:
                if start == len(buf):
                    return
                raise ParseError(
                    f"{_who(partner)}truncated interchange at byte offset {base + start}",
                    partner=partner, details={"offset": base + start})
            nxt = next(chunks, None)
            if nxt is None:
                eof = True
            else:
                base += start
                buf = buf[start:] + nxt
            pos = 0 if nxt is not None else start
            continue
        yield base + start, buf[start:end]
        pos = end


def locate(fp: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    """The file's bytes in chunks of ``chunk_size``."""
    while True:
        block = fp.read(chunk_size)
        if not block:
            return
        yield block


def _who(partner: str | None) -> str:
    return f"partner {partner}: " if partner else ""
