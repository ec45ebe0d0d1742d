"""Inbound: walk a transaction's segments once and fill a plain dict for the canonical model.

The walker is a single pass over the segment list. A loop lasts until its trigger
repeats or a segment arrives that the map knows but the loop does not hold; segments
the map does not know at all (a D01B addition, a partner's extra REF) are skipped.

Findings need provenance (which segment and element filled which field), which costs
time on every document. So the walker runs fast first; only when validation fails is
the document walked again with ``trace=True`` to name the segments behind the errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canonical.errors import Finding
from connectors.formats.segments import Segment
from mappings.compiled import Level, Node, compile_walk
from mappings.paths import get_path, path_text, set_path

__all__ = ["Origin", "Reader"]

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a canonical field came from."""

    segment: Segment
    element: int | None = None
    component: int | None = None


@dataclass
class Reader:
    root: Level
    known: frozenset[str]
    trace: bool = False
    findings: list[Finding] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    # True: walk untraced documents with ``_walk_fast`` (the interpreter) rather than the
    # generated walkers (``compile_walk``), which do the same; for tests that compare them.
    generic: bool = False

    def read(self, segments: list[Segment]) -> Doc:
        doc: Doc = {}
        root = self.root
        if not self.trace and not self.generic:
            walk = root.walk
            if walk is None:
                compile_walk(root)  # once per map; two threads doing it both get the same
                walk = root.walk
            walk(self, segments, 0, doc)
            return doc
        self._walk(root, segments, 0, doc, "", None)
        return doc

    # ------------------------------------------------------------------ walking

    def _walk(
        self, level: Level, segs: list[Segment], i: int, ctx: Doc | None, prefix: str, inside: Node | None
    ) -> int:
        if not self.trace:
            walk = None if self.generic else (level.walk if inside is None else inside.walk)
            if walk is not None:  # an HL level's children (see _hierarchy)
                return int(walk(self, segs, i, ctx))
            return self._walk_fast(level, segs, i, ctx, inside)
        n = len(segs)
        while i < n:
            seg = segs[i]
            tag = seg.tag
            if inside is not None and tag in inside.stop:
                return i
            pick = level.pick.get(tag)
            if pick is None:
                if tag == "HL" and level.hierarchy:
                    i = self._hierarchy(level, segs, i, ctx, prefix)
                else:
                    i += 1
                continue
            node: Node | None = pick(seg)  # the first candidate whose `when` matches
            if node is None:
                # A loop whose qualifier the map does not take (N1*BT in an 850): its
                # children must not fall into the party before it, so walk it as a sink.
                loop = next((c for c in level.by_tag[tag] if c.kind == "loop"), None)
                i = self._walk(loop.level, segs, i + 1, None, "", loop) if loop and loop.level else i + 1
                continue
            target, where = self._target(node, ctx, prefix, seg)
            if target is not None and (node.readers or node.id_slots):
                self._apply(node, seg, target, where)
            if node.kind == "loop" and node.level is not None:
                i = self._walk(node.level, segs, i + 1, target, where, node)
                if node.repeat and not target:
                    self._drop_if_empty(node, ctx, target)
            else:
                i += 1
        return i

    def _walk_fast(
        self, level: Level, segs: list[Segment], i: int, ctx: Doc | None, inside: Node | None
    ) -> int:
        """``_walk`` without provenance, for every document first: the common single-key
        paths are filled directly, each node's compiled reader (``Node.apply``) fills
        its fields, and no path text is built (every prefix is "" without a trace)."""
        n = len(segs)
        stop = inside.stop if inside is not None else ()
        pick_for = level.pick.get
        fixed_for = level.fixed.get
        while i < n:
            seg = segs[i]
            tag = seg.tag
            if tag in stop:
                return i
            node: Node | None = fixed_for(tag)  # a tag whose pick needs no look at the segment
            if node is None:
                pick = pick_for(tag)
                if pick is None:
                    if tag == "HL" and level.hierarchy:
                        i = self._hierarchy(level, segs, i, ctx, "")
                    else:
                        i += 1
                    continue
                node = pick(seg)
                if node is None:
                    # As in _walk: a loop whose qualifier the map does not take is a sink.
                    loop = next((c for c in level.by_tag[tag] if c.kind == "loop"), None)
                    i = self._walk_fast(loop.level, segs, i + 1, None, loop) if loop and loop.level else i + 1
                    continue
            target: Doc | None
            key = node.key
            if ctx is None:
                target = None
            elif key is not None:
                if node.repeat:
                    target = {}
                    items = ctx.get(key)
                    if items is None:
                        ctx[key] = [target]
                    else:
                        items.append(target)
                else:
                    target = ctx.get(key)
                    if target is None:
                        target = ctx[key] = {}
            elif node.path is None:
                target = ctx
            else:
                target = self._target(node, ctx, "", seg)[0]
            if target is not None:
                apply = node.apply
                if apply is not None:
                    apply(self, seg, target, "")
                elif node.readers or node.id_slots:
                    self._apply_plan(node, seg, target, "")
            inner = node.level
            if inner is not None and node.kind == "loop":
                i = self._walk_fast(inner, segs, i + 1, target, node)
                if node.repeat and not target:
                    self._drop_if_empty(node, ctx, target)
            else:
                i += 1
        return i

    def _target(self, node: Node, ctx: Doc | None, prefix: str, seg: Segment) -> tuple[Doc | None, str]:
        if ctx is None or node.path is None:
            return ctx, prefix
        if node.repeat:
            items = get_path(ctx, node.path)
            if items is None:
                items = []
                set_path(ctx, node.path, items)
            item: Doc = {}
            items.append(item)
            where = path_text(prefix, (*node.path, len(items) - 1)) if self.trace else ""
        else:
            item = get_path(ctx, node.path)
            if item is None:
                item = {}
                set_path(ctx, node.path, item)
            where = path_text(prefix, node.path) if self.trace else ""
        if self.trace:
            self.origins.setdefault(where, Origin(seg))
        return item, where

    @staticmethod
    def _drop_if_empty(node: Node, ctx: Doc | None, target: Doc | None) -> None:
        # A repeat instance that took no value (CPS+1 holding only a PAC count) is noise.
        if node.repeat and ctx is not None and node.path is not None and target == {}:
            items = get_path(ctx, node.path)
            if items and items[-1] is target:
                items.pop()

    def _apply(self, node: Node, seg: Segment, target: Doc, where: str) -> None:
        # The hot loop: element lookups are inlined rather than going through Segment.get.
        elements = seg.elements
        count = len(elements)
        trace = self.trace
        if not trace:
            self._apply_plan(node, seg, target, where)
            return
        for el in node.readers:
            raw = None
            if el.e0 < count:
                reps = elements[el.e0]
                if reps:
                    comps = reps[0]
                    if el.c0 < len(comps):
                        raw = comps[el.c0] or None
            if trace:
                self.origins[path_text(where, el.path or ())] = Origin(seg, el.element, el.component)
            if raw is None:
                if el.default is not None and get_path(target, el.path or ()) is None:
                    set_path(target, el.path or (), el.default)
                continue
            value: Any = raw
            if el.codes is not None:
                mapped = el.codes.forward.get(raw)
                if mapped is not None:
                    value = mapped
                elif el.codes.strict:
                    self._finding(seg, el.element, el.component, path_text(where, el.path or ()), raw,
                                  f"code {raw!r} is not in code list {el.codes.name!r}", "invalid_code")
                    continue
            if el.transform is not None:
                try:
                    value = el.transform.read(value, seg)
                except ValueError as exc:
                    self._finding(seg, el.element, el.component, path_text(where, el.path or ()), raw,
                                  str(exc), "invalid_value")
                    continue
            if el.key is not None:
                target[el.key] = value
            else:
                set_path(target, el.path or (), value)
        keys = node.id_keys
        if keys is not None and not trace:
            for qe, qc, ve, vc in node.id_slots:
                if ve >= count:
                    break
                q = _component(elements[qe], qc)
                k = keys.get(q) if q else None
                if k is not None and target.get(k) is None:
                    v = _component(elements[ve], vc)
                    if v:
                        target[k] = v
            return
        by_q = node.id_fields
        for qe, qc, ve, vc in node.id_slots:
            if ve >= count:
                break
            q = _component(elements[qe], qc)
            path = by_q.get(q) if q else None
            if path is None:
                continue
            v = _component(elements[ve], vc)
            if v and get_path(target, path) is None:
                set_path(target, path, v)
                if trace:
                    self.origins[path_text(where, path)] = Origin(seg, ve + 1, vc + 1)

    def _apply_plan(self, node: Node, seg: Segment, target: Doc, where: str) -> None:
        """``_apply`` without provenance, from the node's precompiled plan."""
        elements = seg.elements
        count = len(elements)
        for e0, c0, key, path, forward, strict, read, default, el in node.plan:
            raw = None
            if e0 < count:
                reps = elements[e0]
                if reps:
                    comps = reps[0]
                    if c0 < len(comps):
                        raw = comps[c0] or None
            if raw is None:
                if default is not None and get_path(target, path) is None:
                    set_path(target, path, default)
                continue
            value: Any = raw
            if forward is not None:
                mapped = forward.get(raw)
                if mapped is not None:
                    value = mapped
                elif strict:
                    self._finding(seg, el.element, el.component, path_text(where, path), raw,
                                  f"code {raw!r} is not in code list {el.codes.name!r}", "invalid_code")
                    continue
            if read is not None:
                try:
                    value = read(value, seg)
                except ValueError as exc:
                    self._finding(seg, el.element, el.component, path_text(where, path), raw,
                                  str(exc), "invalid_value")
                    continue
            if key is not None:
                target[key] = value
            else:
                set_path(target, path, value)
        keys = node.id_keys
        if keys is not None:
            for qe, qc, ve, vc in node.id_slots:
                if ve >= count:
                    break
                q = _component(elements[qe], qc)
                k = keys.get(q) if q else None
                if k is not None and target.get(k) is None:
                    v = _component(elements[ve], vc)
                    if v:
                        target[k] = v
            return
        by_q = node.id_fields
        for qe, qc, ve, vc in node.id_slots:
            if ve >= count:
                break
            q = _component(elements[qe], qc)
            p = by_q.get(q) if q else None
            if p is None:
                continue
            v = _component(elements[ve], vc)
            if v and get_path(target, p) is None:
                set_path(target, p, v)

    def _finding(
        self, seg: Segment, element: int, component: int, path: str, raw: str, message: str, code: str
    ) -> None:
        self.findings.append(Finding(
            path=path or f"{seg.tag}{element:02d}", message=message, code=code, segment_id=seg.tag,
            segment_position=seg.position, element_position=element,
            component_position=component if component > 1 else None, value=raw,
        ))

    # ------------------------------------------------------------------ X12 HL trees

    def _hierarchy(self, level: Level, segs: list[Segment], i: int, ctx: Doc | None, prefix: str) -> int:
        hl_tags: set[str] = set()
        for top in level.hierarchy:
            hl_tags |= _tags(top)
        blocks: list[list[Segment]] = []
        n = len(segs)
        while i < n and (segs[i].tag in hl_tags or segs[i].tag not in self.known):
            if segs[i].tag == "HL":
                blocks.append([segs[i]])
            elif blocks:
                blocks[-1].append(segs[i])
            i += 1
        children: dict[str | None, list[list[Segment]]] = {}
        ids = {b[0].get(1) for b in blocks}
        for b in blocks:
            parent = b[0].get(2)
            children.setdefault(parent if parent in ids else None, []).append(b)
        implied: dict[tuple[int, int], tuple[Doc | None, str]] = {}
        for b in children.get(None, []):
            spec = next((s for s in level.hierarchy if s.matches(b[0])), None)
            if spec is not None:
                self._hl_node(spec, b, children, ctx, prefix, implied)
        return i

    def _hl_node(
        self, spec: Node, block: list[Segment], children: dict[str | None, list[list[Segment]]],
        parent: Doc | None, prefix: str, implied: dict[tuple[int, int], tuple[Doc | None, str]],
    ) -> None:
        target, where = self._target(spec, parent, prefix, block[0])
        if target is not None and spec.level is not None:
            self._walk(spec.level, block, 1, target, where, None)
        for child in children.get(block[0].get(1), []):
            sub = next((s for s in spec.sublevels if s.matches(child[0])), None)
            if sub is not None:
                self._hl_node(sub, child, children, target, where, implied)
                continue
            for t in spec.sublevels:
                inner = next((s for s in t.sublevels if s.matches(child[0])), None) if t.transparent else None
                if inner is not None and target is not None:
                    key = (id(target), id(t))
                    if key not in implied:
                        implied[key] = self._target(t, target, where, child[0])
                    holder, at = implied[key]
                    self._hl_node(inner, child, children, holder, at, implied)
                    break
        self._drop_if_empty(spec, parent, target)


def _component(reps: list[list[str]], c0: int) -> str | None:
    if not reps:
        return None
    comps = reps[0]
    return comps[c0] if c0 < len(comps) else None


def _tags(node: Node) -> set[str]:
    tags = {"HL"} | (set(node.level.tags) if node.level is not None else set())
    for sub in node.sublevels:
        tags |= _tags(sub)
    return tags
