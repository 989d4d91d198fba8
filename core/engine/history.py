"""The rules that need history: evaluated with what the delivery store knows (core/history.py).

1656/2054 (`K stored with other O`) need every (key, other) pair of the file,
so the pairs are collected while the records stream past; 1812/1813
(`F changed since last delivery`) and 1819 (`account(U, A, B) not registered`)
read the packing slip.

In a file with a status vlag (mutations) a record flagged 'V' is a deletion:
it is not compared with the store, and a key it deletes may come back in the
same delivery under another value (a move: 'V', then new), which is no
contradiction. `K deleted but not stored` (GA DBC-GGZ 357/407/573) collects
the keys of the deletion records and asks the history's `not_stored(file, key,
values)`, when it has one: of the key values delivered as deletions, those the
provider has no record of (`unknown_deletions`).

What is collected is kept as key columns (keys.py) under the run's key
budget, spilled to disk beyond it: the (key, other) pairs of live records
with both filled, the keys deleted, and the keys of deletion records. The
history is then asked a piece at a time (everything, or one hash partition).
"""
from __future__ import annotations

import numpy as np

from ..findings import FindingCollector
from ..history import History
from ..language import ast
from ..language.compiler import CompiledRule
from .common import Batch, Context, RecordMarks, field_text, record_finding
from .key_spill import KeyMemory
from .keys import KeyColumn

DELETE = b"V"


def unknown_deletions(history: History, file: str, key: str, keys: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Positions of the records flagged 'V' whose key (stripped bytes) the store does not hold for the
    provider in `file`: deletions of something DIS never received."""
    deleting = np.flatnonzero((flags == DELETE) & (keys != b""))
    if not len(deleting):
        return deleting
    texts = [k.decode("latin-1") for k in keys[deleting].tolist()]
    missing = history.not_stored(file, key, texts)
    if not missing:
        return deleting[:0]
    wanted = np.array(sorted(m.encode("latin-1") for m in missing), dtype=keys.dtype)
    return deleting[np.isin(keys[deleting], wanted)]


class HistoryChecks:
    """Evaluates the history rules in force against one provider's `History`."""

    def __init__(self, rules: list[CompiledRule], layout, ctx: Context, history: History,
                 collector: FindingCollector, marks: RecordMarks, key_memory: KeyMemory | None = None):
        self.rules, self.layout, self.ctx, self.history = rules, layout, ctx, history
        self.collector, self.marks = collector, marks
        memory = key_memory if key_memory is not None else KeyMemory(limit=1 << 62)
        self.pairs: dict[str, KeyColumn] = {}  # rule -> (key, other) of live records with both filled
        self.deleted: dict[str, KeyColumn] = {}  # rule -> keys of records flagged 'V'
        self.flagged: dict[str, KeyColumn] = {}  # rule -> keys of deletion records ('V', key filled)
        # A history that knows the provider holds nothing to contradict (its first delivery, written
        # straight into the store) answers no pair: none is collected (a million, for the big files).
        nothing = getattr(history, "nothing_stored", None)
        self.unasked = {r.number for r in rules if isinstance(r.rule.violation, ast.StoredElsewhere)
                        and nothing is not None and nothing(r.file)}
        for rule in rules:
            v = rule.rule.violation
            if isinstance(v, ast.StoredElsewhere):
                key, other = layout.field(v.field.ddid), layout.field(v.other.ddid)
                self.pairs[rule.number] = KeyColumn((key.length, other.length), memory,
                                                    f"{rule.file} ({key.ddid}, {other.ddid}) for rule {rule.number}")
                self.deleted[rule.number] = KeyColumn((key.length,), memory,
                                                      f"{rule.file} ({key.ddid}), deleted, for rule {rule.number}")
            elif isinstance(v, ast.DeletedNotStored):
                key = layout.field(v.field.ddid)
                self.flagged[rule.number] = KeyColumn((key.length,), memory,
                                                      f"{rule.file} ({key.ddid}), deletions, for rule {rule.number}")

    def record_batch(self, batch: Batch) -> None:
        """Collect (key, other, line) for `stored with other`, and (key, line) of deletion records."""
        for rule in self.rules:
            v = rule.rule.violation
            if rule.file != batch.file.name or rule.number in self.unasked:
                continue
            flag = self.layout.field(batch.file.status_flag) if batch.file.status_flag else None
            flags = _texts(batch, flag) if flag is not None else None
            if isinstance(v, ast.StoredElsewhere):
                key, other = self.layout.field(v.field.ddid), self.layout.field(v.other.ddid)
                keys, others, lines = _texts(batch, key), _texts(batch, other), batch.lines
                live = (keys != b"") & (others != b"")  # a pair with an empty side is compared with nothing
                if flags is not None:  # a deletion is not compared; its key may come back (a move)
                    gone = (flags == DELETE) & (keys != b"")
                    self.deleted[rule.number].extend(lines[gone], keys[gone].astype(f"S{key.length}"))
                    live &= flags != DELETE
                self.pairs[rule.number].extend(lines[live], _joined(keys[live], key.length,
                                                                    others[live], other.length))
            elif isinstance(v, ast.DeletedNotStored) and flags is not None:
                keys = _texts(batch, self.layout.field(v.field.ddid))
                deleting = (flags == DELETE) & (keys != b"")
                self.flagged[rule.number].extend(batch.lines[deleting], keys[deleting].astype(f"S{keys.dtype.itemsize}"))

    def file_finished(self, name: str) -> None:
        """Nothing to do between files: pairs are looked up at the end."""

    def finish(self) -> None:
        """Ask the history about everything collected and report what it contradicts."""
        for rule in self.rules:
            v = rule.rule.violation
            if isinstance(v, ast.StoredElsewhere):
                self._stored_elsewhere(rule, v)
            elif isinstance(v, ast.ChangedSinceLast):
                self._changed(rule, v)
            elif isinstance(v, ast.AccountUnknown):
                self._account(rule, v)
            elif isinstance(v, ast.DeletedNotStored) and hasattr(self.history, "not_stored"):
                self._deleted_unknown(rule, v)

    def _deleted_unknown(self, rule: CompiledRule, v) -> None:
        found = []
        for piece in self.flagged[rule.number].pieces():
            lines, keys = piece.joined()
            hit = unknown_deletions(self.history, rule.file, v.field.ddid, keys, np.full(len(keys), DELETE))
            found.append((lines[hit], keys[hit]))
        self._report_found(rule, found)

    def _stored_elsewhere(self, rule: CompiledRule, v: ast.StoredElsewhere) -> None:
        column = self.pairs[rule.number]
        if not len(column):
            return
        width = self.layout.field(v.field.ddid).length
        at = getattr(self.history, "stored_with_other_at", None)
        clashing = at(rule.file, v.field.ddid, v.other.ddid) if at is not None else None
        if clashing is not None:  # the store holds the delivery's records: it answers by line
            if not clashing:
                return
            clash_lines = np.fromiter(clashing, np.int64, len(clashing))
            wanted = np.unique(np.concatenate([np.empty(0, f"S{width}")] + [
                _split(keys, width)[0][np.isin(lines, clash_lines)] for lines, keys in _joined_pieces(column)]))
        else:
            moved = self.history.stored_with_other(rule.file, v.field.ddid, v.other.ddid, _decoded_pairs(column, width))
            if not moved:
                return
            wanted = np.array(sorted(m.encode("latin-1") for m in moved), dtype=f"S{width}")
        found = []
        for lines, keys in _joined_pieces(column):
            keys = _split(keys, width)[0]
            hit = np.isin(keys, wanted)
            found.append((lines[hit], keys[hit]))
        # Deleted earlier in this delivery ('V'): delivering it anew is a move, not a clash.
        deleted = [keys for _, keys in _joined_pieces(self.deleted[rule.number])]
        deleted = [d[np.isin(d, wanted)] for d in deleted]
        if any(len(d) for d in deleted):
            gone = np.concatenate(deleted)
            found = [(lines[~np.isin(keys, gone)], keys[~np.isin(keys, gone)]) for lines, keys in found]
        self._report_found(rule, found)

    def _report_found(self, rule: CompiledRule, found: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Findings at the (lines, stripped keys) of `found` (pieces of them), in line order."""
        found = [f for f in found if len(f[0])]
        if not found:
            return
        lines = np.concatenate([f[0] for f in found]).astype(np.int64)
        keys = np.concatenate([f[1] for f in found])
        order = np.argsort(lines, kind="stable")
        self._report(rule, np.arange(len(lines)), keys[order], lines[order])

    def _report(self, rule: CompiledRule, hit: np.ndarray, keys: np.ndarray, lines: np.ndarray) -> None:
        """Findings of `rule` at the records `hit` (positions into keys/lines), the key as the value."""
        if not len(hit):
            return
        self.marks.mark(rule.file, rule.rule.severity, lines[hit])
        self.collector.add_many(
            rule.number, len(hit),
            lambda limit: (record_finding(rule, int(lines[i]), keys[i].decode("latin-1"))
                           for i in (hit if limit is None else hit[:limit])))

    def _slip(self, ddid: str) -> str | None:
        """A packing-slip field as compared and looked up: without its spaces (the one alignment rule)."""
        raw = self.ctx.slip_text(self.layout.field(ddid))
        return None if raw is None else raw.decode("latin-1").strip(" ")

    def _changed(self, rule: CompiledRule, v: ast.ChangedSinceLast) -> None:
        value = self._slip(v.field.ddid)
        expected = self.history.expected_value(v.field.ddid)
        if value and expected is not None and value != expected.strip(" "):
            self._slip_finding(rule, field_text(self.ctx.slip_text(self.layout.field(v.field.ddid))))

    def _account(self, rule: CompiledRule, v: ast.AccountUnknown) -> None:
        user, provider, branch = (self._slip(f.ddid) for f in v.fields)
        if not (user and provider and branch) or self.ctx.delivery_date is None:
            return  # the M rules report the empty fields
        if not self.history.account_registered(user, provider, branch, self.ctx.delivery_date):
            self._slip_finding(rule, f"{user} / {provider} / {branch}")

    def _slip_finding(self, rule: CompiledRule, value: str) -> None:
        self.marks.mark(rule.file, rule.rule.severity, np.array([1]))
        self.collector.add(record_finding(rule, 1, value))


def _joined(keys: np.ndarray, key_width: int, others: np.ndarray, other_width: int) -> np.ndarray:
    """(key, other) bytes values, side by side in one fixed-width value each (NUL-padded, as 'S' pads)."""
    raw = np.zeros((len(keys), key_width + other_width), np.uint8)
    raw[:, :key_width] = _matrix(keys, key_width)
    raw[:, key_width:] = _matrix(others, other_width)
    return raw.view(f"S{key_width + other_width}").reshape(-1)


def _matrix(values: np.ndarray, width: int) -> np.ndarray:
    """'S' values as a (n, width) byte matrix, NUL-padded."""
    return np.ascontiguousarray(values, dtype=f"S{width}").view(np.uint8).reshape(len(values), width)


def _split(pairs: np.ndarray, key_width: int) -> tuple[np.ndarray, np.ndarray]:
    """The key and the other of joined pairs, as 'S' values again."""
    raw = pairs.view(np.uint8).reshape(len(pairs), pairs.dtype.itemsize)
    key = np.ascontiguousarray(raw[:, :key_width]).view(f"S{key_width}").reshape(-1)
    other = np.ascontiguousarray(raw[:, key_width:]).view(f"S{pairs.dtype.itemsize - key_width}").reshape(-1)
    return key, other


def _joined_pieces(column: KeyColumn):
    """(lines, keys) of a column, a piece that fits memory at a time."""
    for piece in column.pieces():
        yield piece.joined()


def _decoded_pairs(column: KeyColumn, key_width: int, part: int = 1 << 16):
    """(key, other) as text, a piece and a part at a time: a million records' values as Python objects
    at once would cost a hundred MB or more (a generator's first iterable is built when the generator is)."""
    for _, pairs in _joined_pieces(column):
        keys, others = _split(pairs, key_width)
        for start in range(0, len(keys), part):
            stop = start + part
            for k, o in zip(keys[start:stop].tolist(), others[start:stop].tolist()):
                yield k.decode("latin-1"), o.decode("latin-1")


def _texts(batch: Batch, fld) -> np.ndarray:
    """The field of every record as stripped bytes (numpy 'S')."""
    raw = np.ascontiguousarray(batch.raw(fld)).view(f"S{fld.length}").reshape(-1)
    strip = np.strings.strip if hasattr(np, "strings") else np.char.strip
    return strip(raw, b" ")
