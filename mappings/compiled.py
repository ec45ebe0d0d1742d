"""A map compiled once for speed: positions parsed, selectors precomputed, names resolved.

The inbound walker and the outbound writer read only these structures; nothing here is
parsed or looked up per segment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from mappings.functions import ElementFunction, element_function
from mappings.spec import (
    CodeList,
    ElementRule,
    HierarchyRule,
    LoopRule,
    SegmentRule,
    parse_position,
)
from mappings.transforms import Transform, _decimal, get_transform

__all__ = ["Codes", "Element", "Level", "Node", "Path", "compile_rules", "compile_walk", "finish",
           "parse_path"]

Path = tuple[str | int, ...]


@lru_cache(maxsize=4096)
def parse_path(text: str) -> Path:
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


@dataclass(slots=True)
class Codes:
    name: str
    strict: bool
    forward: dict[str, str]  # EDI → canonical
    reverse: dict[str, str]  # canonical → EDI (first EDI code wins)

    @classmethod
    def build(cls, name: str, lists: list[CodeList | dict[str, str]]) -> Codes:
        """Merge code lists, earlier lists winning (partner first, then the map's)."""
        forward: dict[str, str] = {}
        strict = False
        for cl in lists:
            values = cl.values if isinstance(cl, CodeList) else cl
            strict = strict or (isinstance(cl, CodeList) and cl.strict)
            for k, v in values.items():
                forward.setdefault(k, v)
        reverse: dict[str, str] = {}
        for cl in lists:
            if isinstance(cl, CodeList):
                for canonical_value, code in cl.write.items():
                    reverse.setdefault(canonical_value, code)
        for k, v in forward.items():
            reverse.setdefault(v, k)
        return cls(name, strict, forward, reverse)


@dataclass(slots=True)
class Element:
    element: int
    component: int
    path: Path | None
    text: str  # the canonical field as written in the map, for findings
    transform: Transform | None
    codes: Codes | None
    default: str | None
    write_default: str | None
    const: str | None
    function: ElementFunction | None
    count: str | None
    sequence: bool
    # Precomputed for the inbound hot loop: 0-based indexes and a single-key path.
    e0: int = 0
    c0: int = 0
    key: str | None = None


@dataclass(slots=True)
class Node:
    """One compiled segment, loop or HL rule."""

    kind: str  # "segment" | "loop" | "hl"
    tag: str
    name: str | None
    when: tuple[tuple[int, int, frozenset[str]], ...]
    write_when: tuple[tuple[int, int, str], ...]
    elements: tuple[Element, ...]
    ids: tuple[tuple[tuple[int, int], tuple[int, int], dict[str, Path], dict[Path, str]], ...]
    path: Path | None
    field: str | None
    repeat: bool
    inbound: bool
    outbound: bool
    require: Path | None = None
    level: Level | None = None  # children of a loop or HL level
    readers: tuple[Element, ...] = ()  # elements with a field, for the inbound walker
    # (qualifier element, component, value element, component), 0-based, and qualifier → field
    id_slots: tuple[tuple[int, int, int, int], ...] = ()
    id_fields: dict[str, Path] = dataclasses.field(default_factory=dict)  # `field` is taken above
    stop: frozenset[str] = frozenset()  # tags that end this loop (set by finish())
    key: str | None = None  # the path when it is one dict key (the common case, taken fast)
    id_keys: dict[str, str] | None = None  # id_fields when every path is one key
    shape: tuple[int, ...] = ()  # outbound: components per element, so rows are preallocated
    transparent: bool = False
    sublevels: tuple[Node, ...] = ()
    # `readers` unpacked for the untraced inbound walk: (e0, c0, key, path, code table,
    # strict, transform reader, default, element); tuple unpacking beats attribute reads.
    plan: tuple[tuple[Any, ...], ...] = ()
    # The untraced walk's reader for this node, compiled from `plan` (see compile_apply);
    # None: the walker interprets the plan.
    apply: Any = None
    # The untraced walk of a loop's `level` inside this loop, generated (see compile_walk).
    walk: Any = None

    def matches(self, seg: Any) -> bool:
        # A plain loop with Segment.get inlined: this runs for every qualified segment.
        elements = seg._elements
        if elements is None:  # kept flat (X12 simple elements): component 1 of each
            values = seg.values
            for e, c, allowed in self.when:
                if c != 1 or e > len(values):
                    return False
                value = values[e - 1]
                if not value or value not in allowed:
                    return False
            return True
        for e, c, allowed in self.when:
            try:
                value = elements[e - 1][0][c - 1]
            except IndexError:
                return False  # absent: never one of the codes
            if not value or value not in allowed:
                return False
        return True


@dataclass(slots=True)
class Level:
    """The rules at one nesting level, indexed by tag."""

    nodes: tuple[Node, ...]
    by_tag: dict[str, tuple[Node, ...]] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()  # every tag this level and its loops may hold
    hierarchy: tuple[Node, ...] = ()
    # tag -> compiled pick(seg): the first of by_tag[tag] whose `when` matches, or None
    pick: dict[str, Any] = field(default_factory=dict)
    # tag -> the node its pick always returns (the first candidate has no `when`)
    fixed: dict[str, Node] = field(default_factory=dict)
    # The untraced walk of this level outside any loop, generated (see compile_walk).
    walk: Any = None


def _element(key: str, rule: ElementRule, codes: dict[str, Codes]) -> Element:
    e, c = parse_position(key)
    if rule.codes is not None and rule.codes not in codes:
        raise KeyError(f"unknown code list {rule.codes!r} (map has: {', '.join(sorted(codes))})")
    return Element(
        element=e,
        component=c,
        path=parse_path(rule.field) if rule.field else None,
        text=rule.field or "",
        transform=get_transform(rule.transform) if rule.transform else None,
        codes=codes[rule.codes] if rule.codes else None,
        default=rule.default,
        write_default=rule.write_default if rule.write_default is not None else rule.default,
        const=rule.const,
        function=element_function(rule.function) if rule.function else None,
        count=rule.count,
        sequence=rule.sequence,
        e0=e - 1,
        c0=c - 1,
        key=rule.field if rule.field and "." not in rule.field else None,
    )


def _node(rule: SegmentRule | LoopRule | HierarchyRule, codes: dict[str, Codes]) -> Node:
    if isinstance(rule, HierarchyRule):
        return Node(
            kind="hl", tag="HL", name=None, when=((3, 1, frozenset([rule.hl])),),
            write_when=((3, 1, rule.hl),), elements=(), ids=(),
            path=parse_path(rule.field) if rule.field else None, field=rule.field,
            repeat=rule.repeat, inbound=True, outbound=True,
            level=compile_rules(rule.segments, codes), transparent=rule.transparent,
            sublevels=tuple(_node(r, codes) for r in rule.levels),
        )
    when = tuple(
        (*parse_position(k), frozenset([v] if isinstance(v, str) else v)) for k, v in rule.when.items()
    )
    write_when = tuple(
        (*parse_position(k), v if isinstance(v, str) else v[0]) for k, v in rule.when.items()
    )
    ids: tuple[tuple[tuple[int, int], tuple[int, int], dict[str, Path], dict[Path, str]], ...] = ()
    if rule.ids is not None:
        by_q = {q: parse_path(f) for q, f in rule.ids.map.items()}
        first: dict[Path, str] = {}
        for q, p in by_q.items():
            first.setdefault(p, q)
        ids = tuple((qp, vp, by_q, first) for qp, vp in rule.ids.positions())
    elements = tuple(_element(k, r, codes) for k, r in rule.elements.items())
    positions = [(e, c) for e, c, _v in write_when] + [(el.element, el.component) for el in elements]
    positions += [p for q, v, _m, _f in ids for p in (q, v)]
    width = max((e for e, _c in positions), default=0)
    shape = [1] * width
    for e, c in positions:
        shape[e - 1] = max(shape[e - 1], c)
    return Node(
        kind="loop" if isinstance(rule, LoopRule) else "segment",
        tag=rule.loop if isinstance(rule, LoopRule) else rule.segment,
        name=rule.name,
        when=when,
        write_when=write_when,
        elements=elements,
        ids=ids,
        path=parse_path(rule.field) if rule.field else None,
        field=rule.field,
        repeat=rule.repeat,
        inbound=rule.only != "outbound",
        outbound=rule.only != "inbound",
        require=parse_path(rule.require) if rule.require else None,
        readers=tuple(el for el in elements if el.path is not None),
        plan=tuple(
            (el.e0, el.c0, el.key, el.path, el.codes.forward if el.codes else None,
             el.codes.strict if el.codes else False, el.transform.read if el.transform else None,
             el.default, el)
            for el in elements if el.path is not None
        ),
        id_slots=tuple((q[0] - 1, q[1] - 1, v[0] - 1, v[1] - 1) for q, v, _m, _f in ids),
        id_fields=ids[0][2] if ids else {},
        key=rule.field if rule.field and "." not in rule.field else None,
        shape=tuple(shape),
        id_keys=({q: str(p[0]) for q, p in ids[0][2].items()}
                 if ids and all(len(p) == 1 for p in ids[0][2].values()) else None),
        level=compile_rules(rule.segments, codes) if isinstance(rule, LoopRule) else None,
    )


def compile_apply(node: Node) -> Any:
    """The node's plan as one straight-line function ``apply(reader, seg, target, where)``.

    It does what ``Reader._apply_plan`` does for this node, step by step and in the same
    order (findings through ``reader._finding`` with the same arguments), with positions,
    keys, code tables and transforms written in as constants instead of unpacked per
    segment. None where the qualifier/value pairs need the general loop.
    """
    ns: dict[str, Any] = {}
    body = apply_source(node, ns)
    if body is None:
        return None
    lines = ["def apply(reader, seg, target, where):", *["    " + line for line in body]]
    exec(compile("\n".join(lines), f"<map reader {node.tag} {node.name}>", "exec"), ns)
    return ns["apply"]


def apply_source(node: Node, ns: dict[str, Any], prefix: str = "") -> list[str] | None:
    """``compile_apply``'s body as statements (not indented) over ``reader``, ``seg``,
    ``target`` and ``where``, its constants put in ``ns`` under names starting ``prefix``
    (so the bodies of several nodes can share one namespace). None as compile_apply."""
    from mappings.paths import get_path, path_text, set_path  # paths imports this module

    slots = node.id_slots
    if slots and (node.id_keys is None
                  or any(a[2] >= b[2] for a, b in zip(slots, slots[1:], strict=False))):
        return None
    ns.update({"get_path": get_path, "set_path": set_path, "path_text": path_text,
               f"KEYS{prefix}": node.id_keys})
    lines = ["els = seg._elements", "if els is None:",
             "    els = seg.values"]  # X12 simple elements, kept flat
    lines += _apply_body(node, ns, flat=True, prefix=prefix)
    lines.append("else:")
    lines += _apply_body(node, ns, flat=False, prefix=prefix)
    return lines


def _set_path_source(path: Path) -> list[str]:
    """``set_path(target, path, value)`` as statements, for a path of dict keys that may end
    in a list index (``address.city``, ``address.lines.0``): the same dicts and lists are
    created, in the same order, and the same errors raised on a clash."""
    *steps, last = path
    if not steps or not all(isinstance(k, str) for k in steps):
        return [f"set_path(target, {path!r}, value)"]
    out = ["cur = target"]
    for k, nxt in zip(steps, path[1:], strict=True):
        out += [f"nxt = cur.get({k!r})", "if nxt is None:",
                f"    nxt = cur[{k!r}] = {'[]' if isinstance(nxt, int) else '{}'}", "cur = nxt"]
    if isinstance(last, int):
        out += [f"while len(cur) <= {last}:", "    cur.append(None)"]
    return [*out, f"cur[{last!r}] = value"]


# The message ``_decimal`` raises, as generated source over the text it was given.
_NOT_A_NUMBER = "f'{text!r} is not a number'"


def _apply_body(node: Node, ns: dict[str, Any], *, flat: bool, prefix: str = "") -> list[str]:
    """``apply``'s statements over ``els``: the nested elements, or (``flat``) one value each.

    Each field is read, mapped through its code list and transform and stored as
    ``Reader._apply_plan`` does; the ``decimal`` and ``money`` transforms (``_decimal``) are
    written in, with the same messages, rather than called."""

    def value_at(e0: int, c0: int, pad: str) -> list[str]:
        if flat:  # a flat value is the element's only component
            return [f"{pad}raw = els[{e0}] if n > {e0} else None" if c0 == 0 else f"{pad}raw = None"]
        # Element e0, first repetition, component c0; an empty element or a short
        # composite is absent (the IndexError, raised only then, costs nothing otherwise).
        return [f"{pad}if n > {e0}:", f"{pad}    try:", f"{pad}        raw = els[{e0}][0][{c0}]",
                f"{pad}    except IndexError:", f"{pad}        raw = None",
                f"{pad}else:", f"{pad}    raw = None"]

    lines = ["    n = len(els)"]
    ns.update({"DECIMAL": Decimal, "INVALID": InvalidOperation})
    for i, (e0, c0, key, path, forward, strict, read, default, el) in enumerate(node.plan):
        p = f"{prefix}{i}"  # the names of this field's constants
        ns.update({f"P{p}": path, f"D{p}": default, f"F{p}": forward, f"R{p}": read,
                   f"E{p}": el, f"K{p}": key})
        finding = (f"reader._finding(seg, E{p}.element, E{p}.component, path_text(where, P{p}), "
                   "raw, {message}, {code!r})")
        store = [f"target[K{p}] = value"] if key is not None else _set_path_source(path)
        lines += value_at(e0, c0, "    ")
        lines.append("    if raw:")  # absent and empty alike: the default, if any
        pad = "        "
        if forward is None:
            lines.append(f"{pad}value = raw")
        else:
            lines += [f"{pad}value = F{p}.get(raw)", f"{pad}if value is None:"]
            if strict:
                message = f"f'code {{raw!r}} is not in code list {{E{p}.codes.name!r}}'"
                lines += [f"{pad}    {finding.format(message=message, code='invalid_code')}",
                          f"{pad}else:"]
                pad += "    "
            else:
                lines.append(f"{pad}    value = raw")
        if read is _decimal:
            lines += [f"{pad}text = value", f"{pad}try:", f"{pad}    value = DECIMAL(text)",
                      f"{pad}except INVALID:",
                      f"{pad}    {finding.format(message=_NOT_A_NUMBER, code='invalid_value')}",
                      f"{pad}except ValueError as exc:",
                      f"{pad}    {finding.format(message='str(exc)', code='invalid_value')}",
                      f"{pad}else:", f"{pad}    if value.is_finite():",
                      *[f"{pad}        {line}" for line in store],
                      f"{pad}    else:",
                      f"{pad}        {finding.format(message=_NOT_A_NUMBER, code='invalid_value')}"]
        elif read is not None:
            lines += [f"{pad}try:", f"{pad}    value = R{p}(value, seg)",
                      f"{pad}except ValueError as exc:",
                      f"{pad}    {finding.format(message='str(exc)', code='invalid_value')}",
                      f"{pad}else:", *[f"{pad}    {line}" for line in store]]
        else:
            lines += [f"{pad}{line}" for line in store]
        if default is not None:
            lines += [f"    elif get_path(target, P{p}) is None:",
                      f"        set_path(target, P{p}, D{p})"]
    # The qualifier/value pairs in order, each only while the segment reaches its value
    # (the loop's `break`: the value positions rise, so a later pair is never reached).
    for qe, qc, ve, vc in node.id_slots:
        lines.append(f"    if n > {ve}:")
        if flat:
            lines.append(f"        q = els[{qe}]" if qc == 0 else "        q = None")
        else:
            lines += [f"        r = els[{qe}]", "        try:", f"            q = r[0][{qc}]",
                      "        except IndexError:", "            q = None"]
        lines += [f"        k = KEYS{prefix}.get(q) if q else None",
                  "        if k is not None and target.get(k) is None:"]
        if flat:
            lines.append(f"            v = els[{ve}]" if vc == 0 else "            v = None")
        else:
            lines += [f"            r = els[{ve}]", "            try:", f"                v = r[0][{vc}]",
                      "            except IndexError:", "                v = None"]
        lines += ["            if v:", "                target[k] = v"]
    return lines


def compile_rules(rules: list[Any], codes: dict[str, Codes]) -> Level:
    nodes = tuple(_node(r, codes) for r in rules)
    for n in nodes:
        if n.plan or n.id_slots:
            n.apply = compile_apply(n)
    by_tag: dict[str, list[Node]] = {}
    tags: set[str] = set()
    for n in nodes:
        if n.kind == "hl":
            tags |= _hl_tags(n)
            continue
        if n.inbound:
            by_tag.setdefault(n.tag, []).append(n)
        tags.add(n.tag)
        if n.level is not None:
            tags |= n.level.tags
    return Level(
        nodes=nodes,
        by_tag={k: tuple(v) for k, v in by_tag.items()},
        tags=frozenset(tags),
        hierarchy=tuple(n for n in nodes if n.kind == "hl"),
        pick={k: compile_pick(tuple(v)) for k, v in by_tag.items()},
        fixed={k: v[0] for k, v in by_tag.items() if not v[0].when},
    )


def compile_pick(nodes: tuple[Node, ...]) -> Any:
    """``pick(seg)``: the first node whose ``when`` selectors all match ``seg`` (``matches``
    in turn, written out), or None. Each selector reads element e component c of the first
    repetition; absent or empty never matches."""
    ns: dict[str, Any] = {}
    flat: list[str] = []
    nested: list[str] = []
    for i, node in enumerate(nodes):
        ns[f"N{i}"] = node
        if not node.when:
            flat.append(f"        return N{i}")
            nested.append(f"    return N{i}")
            break
        tests_flat, tests_nested = [], []
        for k, (e, c, allowed) in enumerate(node.when):
            ns[f"W{i}_{k}"] = allowed
            # flat values: component 1 of element e only
            tests_flat.append(f"n > {e - 1} and (v := els[{e - 1}]) in W{i}_{k} and v"
                              if c == 1 else "False")
            tests_nested.append(f"(v := els[{e - 1}][0][{c - 1}]) in W{i}_{k} and v")
        flat.append(f"        if {' and '.join(tests_flat)}:")
        flat.append(f"            return N{i}")
        nested += ["    try:", f"        if {' and '.join(tests_nested)}:",
                   f"            return N{i}", "    except IndexError:", "        pass"]
    lines = ["def pick(seg):", "    els = seg._elements", "    if els is None:",
             "        els = seg.values", "        n = len(els)", *flat, "        return None",
             *nested, "    return None"]
    exec(compile("\n".join(lines), "<map pick>", "exec"), ns)
    return ns["pick"]


def finish(root: Level) -> Level:
    """Give every loop the set of tags that end it: known to the map, not held by the loop."""

    def walk(level: Level) -> None:
        for n in level.nodes:
            if n.level is not None:
                if n.kind == "loop":
                    n.stop = (root.tags - n.level.tags) | {n.tag}
                walk(n.level)
            for sub in n.sublevels:
                if sub.level is not None:
                    walk(sub.level)

    walk(root)
    return root


def _hl_tags(node: Node) -> set[str]:
    tags = {"HL"}
    if node.level is not None:
        tags |= node.level.tags
    for sub in node.sublevels:
        tags |= _hl_tags(sub)
    return tags


# ----------------------------------------------------------------- generated walkers


def compile_walk(root: Level) -> None:
    """Give every level (``Level.walk``) and every loop (``Node.walk``) its untraced walk as
    one generated function ``walk(reader, segs, i, ctx) -> i``, after ``finish``.

    Each does what ``Reader._walk_fast`` does over that level (inside that loop), segment by
    segment and in the same order, with the level's dispatch written out: one branch per
    tag, the `when` selectors tested inline, each node's target written for its key and
    its compiled reader (``apply_source``) inlined, and a loop's children walked by the
    loop's own generated walk. HL trees, multi-key targets and readers that need the
    general loop call the same ``Reader`` methods ``_walk_fast`` calls."""
    def node_walks(node: Node) -> None:
        if node.level is not None:
            # An HL's segments are walked outside any loop (Reader._hl_node), a loop's
            # children inside it.
            level_walks(node.level, alone=node.kind == "hl")
            if node.kind == "loop" and node.walk is None:
                node.walk = _compile_walk(node.level, node)
        for sub in node.sublevels:
            node_walks(sub)

    def level_walks(level: Level, *, alone: bool) -> None:
        for node in level.nodes:
            node_walks(node)
        if alone and level.walk is None:
            level.walk = _compile_walk(level, None)

    level_walks(root, alone=True)


def _compile_walk(level: Level, inside: Node | None) -> Any:
    ns: dict[str, Any] = {"LEVEL": level, "STOP": inside.stop if inside is not None else None}
    # Each test is written so that its jump is short: `if tag != 'X': pass / else: <branch>;
    # continue` rather than `if tag == 'X': <branch> / elif ...`. Python 3.11 specialises a
    # comparison followed by its jump (a few instructions instead of a generic rich
    # comparison), but not when that jump has to skip a long branch, as a branch that reads
    # a segment does; the unconditional jump past the branch needs no specialising.
    lines = ["def walk(reader, segs, i, ctx):", "    where = ''", "    nsegs = len(segs)",
             "    while True:", "        if i >= nsegs:", "            return i",
             "        seg = segs[i]", "        tag = seg.tag"]
    if inside is not None:
        lines += ["        if tag in STOP:", "            return i"]
    # The tags of repeating rules (order lines) are asked first: they are most of a document.
    tags = sorted(level.by_tag, key=lambda t: not any(c.repeat for c in level.by_tag[t]))
    names = {id(n): f"N{k}" for k, n in enumerate(level.nodes)}
    for name_node in level.nodes:
        ns[names[id(name_node)]] = name_node
    for tag in tags:
        lines += [f"        if tag != {tag!r}:", "            pass", "        else:"]
        lines += ["            " + line for line in _tag_source(level, tag, names, ns)]
        lines.append("            continue")
    if level.hierarchy and "HL" not in level.by_tag:
        lines += ["        if tag == 'HL':",
                  "            i = reader._hierarchy(LEVEL, segs, i, ctx, '')", "            continue"]
    lines.append("        i += 1")  # a segment no rule of this level takes
    where = f"{inside.tag} {inside.name}" if inside is not None else "level"
    exec(compile("\n".join(lines), f"<map walk {where}>", "exec"), ns)
    return ns["walk"]


def _tag_source(level: Level, tag: str, names: dict[int, str], ns: dict[str, Any]) -> list[str]:
    """The branch for one tag: ``pick`` (the first candidate whose `when` matches) written
    out, then the node's step, or the sink walk when no candidate matches."""
    cands = level.by_tag[tag]
    if level.fixed.get(tag) is cands[0]:
        return _node_source(cands[0], names, ns)
    taken: list[Node] = []
    flat: list[str] = []
    nested: list[str] = []
    for k, node in enumerate(cands):
        taken.append(node)
        if not node.when:
            flat += ["    else:", f"        hit = {k}"]
            nested += ["if hit < 0:", f"    hit = {k}"]
            break
        tests_flat, tests_nested = [], []
        for w, (e, c, allowed) in enumerate(node.when):
            name = f"W_{tag}_{k}_{w}"
            ns[name] = allowed
            tests_flat.append(f"nv > {e - 1} and (v := els[{e - 1}]) in {name} and v"
                              if c == 1 else "False")
            tests_nested.append(f"(v := els[{e - 1}][0][{c - 1}]) in {name} and v")
        flat += [f"    {'elif' if k else 'if'} {' and '.join(tests_flat)}:", f"        hit = {k}"]
        nested += ["if hit < 0:", "    try:", f"        if {' and '.join(tests_nested)}:",
                   f"            hit = {k}", "    except IndexError:", "        pass"]
    # `flat` may end in an `else` (a candidate with no `when`, never the first: that one is
    # `fixed`); the -1 default comes first.
    out = ["hit = -1", "els = seg._elements", "if els is None:", "    els = seg.values",
           "    nv = len(els)"]
    out += flat
    out.append("else:")
    out += ["    " + line for line in nested]
    # Each candidate's step ends the segment with `continue` (the walk's loop); the tests are
    # written with short jumps, as in _compile_walk.
    for k, node in enumerate(taken):
        out += [f"if hit != {k}:", "    pass", "else:"]
        out += ["    " + line for line in _node_source(node, names, ns)]
        out.append("    continue")
    # As _walk_fast: a loop whose qualifier the map does not take is walked as a sink.
    loop = next((c for c in cands if c.kind == "loop"), None)
    if loop is not None and loop.level is not None:
        out.append(f"i = {names[id(loop)]}.walk(reader, segs, i + 1, None)")
    else:
        out.append("i += 1")
    return out


def _node_source(node: Node, names: dict[int, str], ns: dict[str, Any]) -> list[str]:
    """One matched node: its target in ``ctx``, its reader, then its loop's children."""
    me = names[id(node)]
    key = node.key
    loop = node.level is not None and node.kind == "loop"
    if key is None and node.path is None and not loop and not (node.plan or node.id_slots):
        return ["i += 1"]  # a segment the map only reads past (target would be ctx)
    out = ["if ctx is None:", "    target = None", "else:"]
    if key is not None:
        if node.repeat:
            out += ["    target = {}", f"    items = ctx.get({key!r})", "    if items is None:",
                    f"        ctx[{key!r}] = [target]", "    else:", "        items.append(target)"]
        else:
            out += [f"    target = ctx.get({key!r})", "    if target is None:",
                    f"        target = ctx[{key!r}] = {{}}"]
    elif node.path is None:
        out.append("    target = ctx")
    else:
        out.append(f"    target = reader._target({me}, ctx, '', seg)[0]")
    reads: list[str] | None = []
    if node.plan or node.id_slots:
        reads = apply_source(node, ns, prefix=f"_{me}_")
        if reads is None:
            reads = [f"reader._apply_plan({me}, seg, target, '')"] if (
                node.readers or node.id_slots) else []
    if reads:
        if key is None and node.path is not None:  # reader._target may answer None
            out += ["    if target is not None:", *["        " + line for line in reads]]
        else:
            out += ["    " + line for line in reads]
    elif out[-1] == "else:":
        out.append("    pass")
    if loop:
        out.append(f"i = {me}.walk(reader, segs, i + 1, target)")
        if node.repeat:
            out += ["if not target:", f"    reader._drop_if_empty({me}, ctx, target)"]
    else:
        out.append("i += 1")
    return out
