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
"""
from __future__ import annotations

import numpy as np

from ..findings import FindingCollector
from ..history import History
from ..language import ast
from ..language.compiler import CompiledRule
from .common import Batch, Context, RecordMarks, field_text, record_finding

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
                 collector: FindingCollector, marks: RecordMarks):
        self.rules, self.layout, self.ctx, self.history = rules, layout, ctx, history
        self.collector, self.marks = collector, marks
        self.pairs: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {r.number: [] for r in rules}
        self.deleted: dict[str, list[np.ndarray]] = {r.number: [] for r in rules}  # keys flagged 'V'
        self.flagged: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {r.number: [] for r in rules}

    def record_batch(self, batch: Batch) -> None:
        """Collect (key, other, line) for `stored with other`, and (key, line) of deletion records."""
        for rule in self.rules:
            v = rule.rule.violation
            if rule.file != batch.file.name:
                continue
            flag = self.layout.field(batch.file.status_flag) if batch.file.status_flag else None
            flags = _texts(batch, flag) if flag is not None else None
            if isinstance(v, ast.StoredElsewhere):
                key, other = self.layout.field(v.field.ddid), self.layout.field(v.other.ddid)
                keys, others, lines = _texts(batch, key), _texts(batch, other), batch.lines.copy()
                if flags is not None:  # a deletion is not compared; its key may come back (a move)
                    live = flags != DELETE
                    self.deleted[rule.number].append(keys[~live])
                    keys, others, lines = keys[live], others[live], lines[live]
                self.pairs[rule.number].append((keys, others, lines))
            elif isinstance(v, ast.DeletedNotStored) and flags is not None:
                self.flagged[rule.number].append((_texts(batch, self.layout.field(v.field.ddid)), flags,
                                                  batch.lines.copy()))

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
        chunks = self.flagged[rule.number]
        if not chunks:
            return
        keys = np.concatenate([k for k, _, _ in chunks])
        flags = np.concatenate([f for _, f, _ in chunks])
        lines = np.concatenate([n for _, _, n in chunks])
        hit = unknown_deletions(self.history, rule.file, v.field.ddid, keys, flags)
        self._report(rule, hit, keys, lines)

    def _stored_elsewhere(self, rule: CompiledRule, v: ast.StoredElsewhere) -> None:
        chunks, self.pairs[rule.number] = self.pairs[rule.number], []  # freed once joined: a million records' worth
        if not chunks:
            return
        keys = np.concatenate([k for k, _, _ in chunks])
        others = np.concatenate([o for _, o, _ in chunks])
        lines = np.concatenate([n for _, _, n in chunks])
        del chunks
        filled = (keys != b"") & (others != b"")
        at = getattr(self.history, "stored_with_other_at", None)
        clashing = at(rule.file, v.field.ddid, v.other.ddid) if at is not None else None
        if clashing is not None:  # the store holds the delivery's records: it answers by line
            if not clashing:
                return
            wanted = np.unique(keys[filled & np.isin(lines, np.fromiter(clashing, np.int64, len(clashing)))])
        else:
            everything = bool(filled.all())
            pairs = _decoded_pairs(keys if everything else keys[filled], others if everything else others[filled])
            moved = self.history.stored_with_other(rule.file, v.field.ddid, v.other.ddid, pairs)
            if not moved:
                return
            wanted = np.array(sorted(m.encode("latin-1") for m in moved), dtype=keys.dtype)
        hit = filled & np.isin(keys, wanted)
        deleted = [d for d in self.deleted[rule.number] if len(d)]
        if deleted:  # deleted earlier in this delivery ('V'): delivering it anew is a move, not a clash
            hit &= ~np.isin(keys, np.concatenate(deleted))
        self._report(rule, np.flatnonzero(hit), keys, lines)

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


def _decoded_pairs(keys: np.ndarray, others: np.ndarray, part: int = 1 << 16):
    """(key, other) as text, a part at a time: a million records' values as Python objects at once
    would cost a hundred MB or more (a generator's first iterable is built when the generator is)."""
    for start in range(0, len(keys), part):
        stop = start + part
        for k, o in zip(keys[start:stop].tolist(), others[start:stop].tolist()):
            yield k.decode("latin-1"), o.decode("latin-1")


def _texts(batch: Batch, fld) -> np.ndarray:
    """The field of every record as stripped bytes (numpy 'S')."""
    raw = np.ascontiguousarray(batch.raw(fld)).view(f"S{fld.length}").reshape(-1)
    strip = np.strings.strip if hasattr(np, "strings") else np.char.strip
    return strip(raw, b" ")
