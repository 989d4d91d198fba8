"""The rules that need history: evaluated with what the delivery store knows (core/history.py).

1656/2054 (`K stored with other O`) need every (key, other) pair of the file,
so the pairs are collected while the records stream past; 1812/1813
(`F changed since last delivery`) and 1819 (`account(U, A, B) not registered`)
read the packing slip. `K deleted but not stored` (GA DBC-GGZ 357/407/573) collects
the keys of the deletion records and asks the history's `not_stored(file, key,
values)`, when it has one: of the key values delivered as deletions, those the
provider has no record of.
"""
from __future__ import annotations

import numpy as np

from ..findings import FindingCollector
from ..history import History
from ..language import ast
from ..language.compiler import CompiledRule
from .common import Batch, Context, RecordMarks, deleted, field_text, record_finding


class HistoryChecks:
    """Evaluates the history rules in force against one provider's `History`."""

    def __init__(self, rules: list[CompiledRule], layout, ctx: Context, history: History,
                 collector: FindingCollector, marks: RecordMarks):
        self.rules, self.layout, self.ctx, self.history = rules, layout, ctx, history
        self.collector, self.marks = collector, marks
        self.pairs: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {r.number: [] for r in rules}

    def record_batch(self, batch: Batch) -> None:
        """Collect (key, other, line) for `stored with other`, and (key, line) of deletion records."""
        for rule in self.rules:
            v = rule.rule.violation
            if isinstance(v, ast.StoredElsewhere) and rule.file == batch.file.name:
                key, other = self.layout.field(v.field.ddid), self.layout.field(v.other.ddid)
                self.pairs[rule.number].append((_texts(batch, key), _texts(batch, other), batch.lines.copy()))
            elif isinstance(v, ast.DeletedNotStored) and rule.file == batch.file.name:
                gone = deleted(batch, self.layout.field(batch.file.status_flag))
                key = _texts(batch, self.layout.field(v.field.ddid))[gone]
                self.pairs[rule.number].append((key, key, batch.lines[gone]))

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
                self._not_stored(rule, v)

    def _not_stored(self, rule: CompiledRule, v: ast.DeletedNotStored) -> None:
        chunks = self.pairs[rule.number]
        if not chunks:
            return
        keys = np.concatenate([k for k, _, _ in chunks])
        lines = np.concatenate([n for _, _, n in chunks])
        filled = keys != b""
        unknown = self.history.not_stored(rule.file, v.field.ddid, (k.decode("latin-1") for k in keys[filled].tolist()))
        if not unknown:
            return
        wanted = np.array(sorted(u.encode("latin-1") for u in unknown), dtype=keys.dtype)
        hit = np.flatnonzero(filled & np.isin(keys, wanted))
        self.marks.mark(rule.file, rule.rule.severity, lines[hit])
        self.collector.add_many(
            rule.number, len(hit),
            lambda limit: (record_finding(rule, int(lines[i]), keys[i].decode("latin-1"))
                           for i in (hit if limit is None else hit[:limit])))

    def _stored_elsewhere(self, rule: CompiledRule, v: ast.StoredElsewhere) -> None:
        chunks = self.pairs[rule.number]
        if not chunks:
            return
        keys = np.concatenate([k for k, _, _ in chunks])
        others = np.concatenate([o for _, o, _ in chunks])
        lines = np.concatenate([n for _, _, n in chunks])
        filled = (keys != b"") & (others != b"")
        pairs = ((k.decode("latin-1"), o.decode("latin-1")) for k, o in zip(keys[filled].tolist(), others[filled].tolist()))
        moved = self.history.stored_with_other(rule.file, v.field.ddid, v.other.ddid, pairs)
        if not moved:
            return
        wanted = np.array(sorted(m.encode("latin-1") for m in moved), dtype=keys.dtype)
        hit = np.flatnonzero(filled & np.isin(keys, wanted))
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


def _texts(batch: Batch, fld) -> np.ndarray:
    """The field of every record as stripped bytes (numpy 'S')."""
    raw = np.ascontiguousarray(batch.raw(fld)).view(f"S{fld.length}").reshape(-1)
    strip = np.strings.strip if hasattr(np, "strings") else np.char.strip
    return strip(raw, b" ")
