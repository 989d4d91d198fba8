"""Which record a rule reads, and how it reaches the parent records whose fields it names.

A foreign key (`Field.references`) leads from a record to its parent: from a
DBC-traject through 1464 to the zorgtraject whose 1449 it names. A rule may
read fields of several files when one of them (the rule's record) reaches
every other through exactly one chain of foreign keys; the rule is then
checked once per record of that file, with the parents' fields looked up.
"""
from __future__ import annotations

from ..layout import Field, Layout
from .checks import Hop


class PathError(ValueError):
    """No file, or more than one, can be the rule's record; or a parent is reachable in two ways."""


def hops_from(layout: Layout, file: str) -> list[Hop]:
    """The foreign keys of `file` that lead to a delivered key field of another file."""
    out = []
    f = layout.file(file)
    for fld in f.fields if f else ():
        target = layout.field(fld.references) if fld.references else None
        if target is not None and target.file != file:
            out.append(Hop(fld, target))
    return out


def paths_from(layout: Layout, file: str) -> dict[str, list[tuple[Hop, ...]]]:
    """Every chain of foreign keys from `file`, by the file it ends in (cycles are not followed)."""
    found: dict[str, list[tuple[Hop, ...]]] = {}

    def walk(current: str, path: tuple[Hop, ...], seen: frozenset[str]) -> None:
        for hop in hops_from(layout, current):
            parent = hop.key.file
            if parent in seen:
                continue
            found.setdefault(parent, []).append(path + (hop,))
            walk(parent, path + (hop,), seen | {parent})

    walk(file, (), frozenset({file}))
    return found


def record_scope(layout: Layout, files: set[str]) -> tuple[str, dict[str, tuple[Hop, ...]]]:
    """The rule's record file among `files` and the one path from it to each other file.

    Raises PathError when no file reaches all others, when two could be the record, or when a
    parent is reachable through more than one chain of foreign keys.
    """
    if len(files) == 1:
        return next(iter(files)), {}
    candidates = []
    for file in sorted(files):
        reach = paths_from(layout, file)
        if all(other in reach for other in files - {file}):
            candidates.append((file, reach))
    if not candidates:
        raise PathError(
            f"the rule reads fields of {' and '.join(sorted(files))}, but none of these files refers to the "
            "others through its foreign keys")
    if len(candidates) > 1:
        raise PathError(f"the rule reads fields of {' and '.join(sorted(files))}; each could be its record")
    file, reach = candidates[0]
    paths = {}
    for other in sorted(files - {file}):
        if len(reach[other]) > 1:
            ways = "; ".join(" -> ".join(f"{h.foreign_key.ddid}>{h.key.ddid}" for h in p) for p in reach[other])
            raise PathError(f"{file} reaches {other} in more than one way ({ways})")
        paths[other] = reach[other][0]
    return file, paths


def key_fields(layout: Layout, file: str) -> set[str]:
    """DDIDs a deletion record must still fill (GA DBC-GGZ §5.3): keys, foreign keys and the status flag."""
    f = layout.file(file)
    keys = set(f.key) | {f.status_flag} - {""}
    keys |= {fld.ddid for fld in f.fields if fld.key in ("PK", "FK") or fld.references}
    return keys


def referenced_fields(layout: Layout, fields: tuple[Field, ...], target: str) -> tuple[Field, ...] | str:
    """The key fields of `target` that `fields` refer to, or a message why there are none."""
    tf = layout.file(target)
    if len(fields) == 1 and fields[0].references:
        key = layout.field(fields[0].references)
        if key is not None and key.file == tf.name:
            return (key,)
    if not tf.key:
        return f"{tf.name} declares no key to refer to"
    if len(tf.key) != len(fields):
        return (f"{tf.name} has a key of {len(tf.key)} field(s) ({', '.join(tf.key)}); "
                f"the rule names {len(fields)}")
    return tuple(layout.field(d) for d in tf.key)
