"""Outbound: write a canonical document (as a plain dict) into segments, rule by rule.

A segment whose rule reads canonical fields is written only when at least one of them has
a value; a segment made only of constants and counts (``UNS+S``, ``CTT``) is always
written. X12 HL numbers, parents and child codes are assigned here, so maps only say
which level holds what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.formats.segments import Segment
from mappings.compiled import Level, Node, parse_path
from mappings.paths import get_path

__all__ = ["Writer"]

Doc = dict[str, Any]


@dataclass
class Writer:
    root: Level
    doc: Doc
    out: list[Segment] = field(default_factory=list)
    hl_count: int = 0

    def write(self) -> list[Segment]:
        self._level(self.root, self.doc, self.out)
        return self.out

    def _objects(self, node: Node, ctx: Doc) -> list[tuple[int, Any]]:
        if node.path is None:
            return [(0, ctx)]
        value = get_path(ctx, node.path)
        if node.repeat:
            return list(enumerate(value or []))
        return [] if value is None else [(0, value)]

    def _level(self, level: Level, ctx: Doc, out: list[Segment]) -> None:
        for node in level.nodes:
            if not node.outbound:
                continue
            if node.kind == "hl":
                self._hl(node, ctx, None, out)
                continue
            for idx, obj in self._objects(node, ctx):
                seg = self._segment(node, obj, idx, out)
                if seg is None:
                    continue
                out.append(seg)
                if node.kind == "loop" and node.level is not None:
                    self._level(node.level, obj, out)

    def _segment(self, node: Node, obj: Any, idx: int, out: list[Segment]) -> Segment | None:
        if node.require is not None and get_path(obj, node.require) is None:
            return None
        rows = [[""] * n for n in node.shape]
        for e, c, v in node.write_when:
            rows[e - 1][c - 1] = v
        needs_data = has_data = False
        for el in node.elements:
            if el.const is not None:
                rows[el.e0][el.c0] = el.const
            elif el.path is not None:
                needs_data = True
                v = obj.get(el.key) if el.key is not None else get_path(obj, el.path)
                if v is None or v == "":
                    if el.write_default is None:
                        continue
                    v = el.write_default
                has_data = True
                if el.codes is not None:
                    v = el.codes.reverse.get(v, v)
                rows[el.e0][el.c0] = el.transform.write(v) if el.transform is not None else str(v)
            elif el.sequence:
                rows[el.e0][el.c0] = str(idx + 1)
            elif el.count is not None:
                rows[el.e0][el.c0] = str(self._count(el.count, out))
            elif el.function is not None:
                rows[el.e0][el.c0] = el.function(obj, self.doc) or ""
        if node.ids:
            needs_data = True
            slots = iter(node.id_slots)
            for path, qualifier in node.ids[0][3].items():
                v = get_path(obj, path)
                if v is None:
                    continue
                slot = next(slots, None)
                if slot is None:
                    break
                qe, qc, ve, vc = slot
                rows[qe][qc] = qualifier
                rows[ve][vc] = str(v)
                has_data = True
        if needs_data and not has_data:
            return None
        return _segment_of(node.tag, rows)

    def _count(self, what: str, out: list[Segment]) -> int:
        if what.startswith("segments:"):
            tag = what.partition(":")[2]
            return sum(1 for s in out if s.tag == tag)
        return len(get_path(self.doc, parse_path(what)) or [])

    def _hl(self, spec: Node, ctx: Doc, parent: str | None, out: list[Segment]) -> None:
        code = spec.write_when[0][2]
        for _idx, obj in self._objects(spec, ctx):
            own: list[Segment] = []
            if spec.level is not None:
                self._level(spec.level, obj, own)
            if spec.transparent and not own:
                # A pack with no SSCC has nothing to say at its own level: its items hang
                # under the order directly (BSN05 0004), which is what most partners send.
                for sub in spec.sublevels:
                    self._hl(sub, obj, parent, out)
                continue
            self.hl_count += 1
            my_id = str(self.hl_count)
            hl = _build("HL", {(1, 1): my_id, (2, 1): parent or "", (3, 1): code, (4, 1): "0"})
            out.append(hl)
            out.extend(own)
            before = self.hl_count
            for sub in spec.sublevels:
                self._hl(sub, obj, my_id, out)
            if self.hl_count > before:
                hl.elements[3] = [["1"]]


def _segment_of(tag: str, rows: list[list[str]]) -> Segment:
    # Trailing empty elements, and trailing empty components of a composite, are not written.
    while rows and not any(rows[-1]):
        rows.pop()
    for row in rows:
        while len(row) > 1 and not row[-1]:
            row.pop()
    return Segment(tag=tag, elements=[[row] for row in rows])


def _build(tag: str, values: dict[tuple[int, int], str]) -> Segment:
    width = max((e for e, _c in values), default=0)
    rows: list[list[str]] = [[] for _ in range(width)]
    for (e, c), v in values.items():
        row = rows[e - 1]
        while len(row) < c:
            row.append("")
        row[c - 1] = v
    return _segment_of(tag, [row or [""] for row in rows])
