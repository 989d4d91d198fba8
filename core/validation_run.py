"""One validation in progress: the rules in force, the members streamed through the engine, the keys.

`pipeline.validate` sets it up and reads the result from it; this module holds the
state and the steps of the run in between (what the pipeline's docstring draws).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from typing import Callable

import numpy as np

from .engine import columns
from .engine.history import HistoryChecks
from .engine.parents import cols_of
from .engine.common import Context, record_finding
from .errors import UsageError
from .findings import ZIP_LEVEL, ZIP_LEVEL_DETAILS, ZIP_LEVEL_EN, ZIP_LEVEL_HINTS, CodelistRelease, Finding, RuleInfo
from .language import ast, compiler as c
from .language.checks import Cmp, Col, CountOf
from .notes import Note
from .layout import FileLayout
from .broken_keys import BrokenKeys
from .engine.key_spill import KeyMemory
from .read_ahead import Prepared, prepared_batches, read_ahead
from .rule_infos import book_infos
from .reader import Delivery, RecordChunk

# Called with every chunk the run reads, after the rules saw it (`pipeline.validate(records_sink=...)`)
RecordSink = Callable[[FileLayout, RecordChunk], None]


class ValidationRun:
    """The state of one validation."""

    def __init__(self, pm, std, book, delivery: Delivery, provider, readers, collector, marks, history, limits,
                 batch_records):
        self.pm, self.std, self.book, self.delivery, self.readers = pm, std, book, delivery, readers
        self.provider, self.collector, self.marks = provider, collector, marks
        self.history, self.limits, self.batch_records = history, limits, batch_records
        self.read_ahead = 1  # batches a reader thread keeps ready (0: read on this thread)
        self._prepare = None  # the engines' work ahead on a batch, once they exist
        self.status: dict[str, tuple[str, str]] = {}  # rule -> (status, reason) for rules not evaluated
        self.read_whole: set[str] = set()  # files every record of which was read
        self.releases: list[CodelistRelease] = []
        self.selection = RuleSelection()
        self.sink: RecordSink | None = None
        # file -> keys legible on its lines of the wrong length (causes of follow-ons)
        self.broken_keys: dict[str, BrokenKeys] = {}
        self.key_memory = KeyMemory()  # theirs, and the engine's when it takes one (one budget)
        self.warnings: list[str] = []
        slip = std.layout.packing_slip
        # A name that does not follow the convention still has a name (1807 compares with it).
        parts = delivery.zip_name.parts if delivery.zip_name else {"name": delivery.name}
        self.ctx = Context(zip_parts=parts, slip=slip, slip_row=None)

    def go(self, engine_class) -> None:
        layout = self.std.layout
        slip = layout.packing_slip
        slip_chunks = list(self._chunks(slip)) if slip is not None else []
        if slip is not None:
            self._take_slip(slip, slip_chunks)
        self.pm.hook.disval_validation_started(delivery=self.delivery.name, standard=self.std,
                                               expected=self.expected_records())
        date = self._delivery_date()
        self.ctx.delivery_date = date
        rules = self._rules_in_force(date)
        engines = [engine_class(rules, layout, self.ctx, self.collector, self.marks, key_memory=self.key_memory)]
        if self.history is not None:
            engines.append(HistoryChecks([r for r in rules if r.kind == c.HISTORY], layout, self.ctx,
                                         self.history, self.collector, self.marks, self.key_memory))
        ahead = [engine.prepare for engine in engines if hasattr(engine, "prepare")]
        self._prepare = (lambda batch: [t for prepare in ahead for t in prepare(batch)]) if ahead else None
        self.lengths = {r.file: r for r in rules if r.kind == c.LENGTH}
        for f in _reading_order(layout, rules):
            chunks = slip_chunks if f is slip else self._chunks(f)
            for chunk in chunks:
                self._chunk(engines, f, chunk)
            if f.name in self.delivery.members and f.name not in self.delivery.unreadable:
                for engine in engines:
                    engine.file_finished(f.name)
                self.read_whole.add(f.name)
        for name in self.delivery.unreadable:
            self.ctx.counts.pop(name, None)
        for rule in rules:
            if rule.kind == c.REFERENCE and rule.target not in self.read_whole:
                self.status[rule.number] = ("not evaluated", Note("file_unread", file=rule.target))
            parents = sorted({h.key.file for col in cols_of(rule.check, into_counts=False) if col.scope == "parent"
                              for h in col.path}
                             - self.read_whole) if rule.check is not None and rule.kind != c.MEMBER else []
            if parents and rule.number not in self.status:
                # Its records have no parents to read: the rule could not say anything about them.
                self.status[rule.number] = ("not evaluated", Note("file_unread", file=", ".join(parents)))
        self._members(rules)
        for engine in engines:
            engine.finish()
        self.mark_follow_ons(rules)

    def expected_records(self) -> dict[str, int]:
        """Records per member file by the packing slip's counts (the standard's `count(FILE) != DDID` rules)."""
        if self.ctx.slip_row is None:
            return {}
        found = self.delivery.found_as
        out = {found.get(self.std.layout.packing_slip.name, self.std.layout.packing_slip.name): 1}
        for rule in self.book.rules:
            if rule.kind != c.FILE or not isinstance(rule.check, Cmp):
                continue
            for this, other in ((rule.check.left, rule.check.right), (rule.check.right, rule.check.left)):
                if isinstance(this, CountOf) and isinstance(other, Col) and other.scope == "slip":
                    raw = self.ctx.slip_text(other.field).strip()
                    if raw.isdigit():
                        out[found.get(this.file, this.file)] = int(raw)
        return out

    # -- reading
    def _chunks(self, f):
        if f.name not in self.delivery.members:
            return
        self.ctx.counts[f.name] = 0
        chunks = self.readers[f.name](self.delivery, f, self.limits, self.batch_records)
        # A member that says it holds less than one batch leaves a reader thread nothing to overlap:
        # it is read on this thread, saving the thread's start (most of a small member's time). One
        # that says less than it holds is only read without overlap: the results are the same.
        small = self.delivery.members[f.name].file_size < self.batch_records * ((f.record_length or 0) + 2)
        for prepared in read_ahead(prepared_batches(f, chunks, self._prepare), 0 if small else self.read_ahead,
                                   tasks_of=lambda p: p.tasks):
            self.ctx.counts[f.name] += prepared.chunk.line_count
            yield prepared

    def _take_slip(self, slip, chunks: list[Prepared]) -> None:
        total = sum(p.chunk.line_count for p in chunks)
        good = [p.chunk for p in chunks if len(p.chunk.lines)]
        if total == 1 and good:
            self.ctx.slip_row = good[0].rows[0].tobytes()

    def _chunk(self, engines, f, prepared: Prepared) -> None:
        chunk = prepared.chunk
        name = f.name
        file_name = self.delivery.found_as.get(name, name)
        length_rule = self.lengths.get(name)
        bad, lengths = chunk.bad_lines, chunk.bad_lengths
        if len(bad) and length_rule is not None:
            self.marks.mark(name, length_rule.rule.severity, bad)
            # Counted whole, built only as far as they are listed: a member of bare line ends
            # has millions of them.
            self.collector.add_many(length_rule.number, len(bad), lambda limit: (
                record_finding(length_rule, line, f"{length}", expected=str(f.record_length))
                for line, length in zip(bad[:limit].tolist(), lengths[:limit].tolist())))
            self._remember_broken_keys(f, file_name, chunk, length_rule.number)
        elif len(bad) and not chunk.bad_reported.all():
            # No rule of the standard judges this file's record length (now): a line that is no
            # record still cannot pass unseen, since none of its fields was checked. Lines the
            # reader reported with a finding of its own are not reported twice.
            unseen = ~chunk.bad_reported
            bad, lengths, width = bad[unseen], lengths[unseen], f.record_length
            self._reader_findings("REC-LENGTH", name, file_name, bad, None, "V",
                                  describe=lambda k: (str(lengths[k]), ZIP_LEVEL_DETAILS["REC-LENGTH"][0].format(
                                      found=lengths[k], expected=width)),
                                  expected=str(width), values=Counter(str(n) for n in lengths.tolist()))
            self._remember_broken_keys(f, file_name, chunk, "REC-LENGTH")
        if len(chunk.eol):
            self._reader_findings("REC-EOL", name, file_name, chunk.eol, None, "V")
        if len(chunk.lines):
            hit, cols = prepared.charset
            if len(hit):
                self._reader_findings("REC-CHARSET", name, file_name, chunk.lines[hit], (chunk.rows, hit, cols), "S",
                                      layout=f)
            batch = prepared.batch
            for engine in engines:
                engine.record_batch(batch)
        if self.sink is not None:
            self.sink(f, chunk)
        self.pm.hook.disval_records_read(file=file_name, records=self.ctx.counts.get(name, 0))

    def _remember_broken_keys(self, f, file_name: str, chunk: RecordChunk, rule: str) -> None:
        """Keys still legible on lines of the wrong length: findings that refer to them are follow-ons."""
        if len(f.key) != 1 or not len(chunk.bad_heads):
            return
        key = self.std.layout.field(f.key[0])
        heads = chunk.bad_heads
        if heads.shape[1] < key.end:
            return
        if f.name not in self.broken_keys:
            self.broken_keys[f.name] = BrokenKeys(file_name, rule, key.length, self.key_memory,
                                                  f"{file_name} ({key.ddid})")
        self.broken_keys[f.name].add(chunk.bad_lines[:len(heads)], heads[:, key.start:key.end])

    def mark_follow_ons(self, rules) -> None:
        """Give each listed reference finding whose key is on a broken line of its target that line as cause."""
        try:
            for rule in rules:
                broken = self.broken_keys.get(rule.target) if rule.kind == c.REFERENCE else None
                if broken is not None and self.collector.counts.get(rule.number):
                    causes = broken.causes()
                    if len(causes):
                        self.collector.rewrite(rule.number, causes.with_cause)
        finally:
            self.key_memory.close()

    def _reader_findings(self, rule, name, file_name, lines, where, rtype, describe=None,
                         expected=None, values=None, layout=None) -> None:
        """Findings of a reader id at `lines`; `describe(k)` gives the k-th one's (value, message detail).

        `expected` is what the GA expects where the value is what was found (a record length);
        `values` counts the findings' values when `where` does not give them; `layout` (the
        file's) names the field a REC-CHARSET byte is in.
        """
        if rule in self.collector.ignore:
            return
        self.marks.mark(name, "ERR", lines)

        def make(limit):
            for k in range(len(lines) if limit is None else min(limit, len(lines))):
                column = fld = None
                value, detail = describe(k) if describe is not None else (None, "")
                if where is not None:
                    rows, hit, cols = where
                    column = int(cols[k])
                    value = f"0x{rows[hit[k], column - 1]:02X}"
                    # The byte belongs to a field: name it, so that the fixer knows where to look and reports
                    # mask the byte when the field is identifying (a byte of a koppelnummer is part of it).
                    fld = _field_at(layout, column)
                message = ZIP_LEVEL[rule] + detail
                yield Finding(rule=rule, type=rtype, severity="ERR", file=file_name, line=int(lines[k]),
                              column=column, ddid=fld.ddid if fld else None, field=fld.name if fld else None,
                              value=value, message=message, expected=expected)
        if where is not None:
            # The bytes themselves (control characters, never a value's text) are counted per rule.
            rows, hit, cols = where
            values = Counter(f"0x{b:02X}" for b in rows[hit, cols - 1].tolist())
        self.collector.add_many(rule, len(lines), make, values)

    # -- what applies
    def _delivery_date(self) -> dt.date:
        """The delivery's creation date: from the zip name, else the packing slip, else today."""
        if self.delivery.zip_name is not None:
            return self.delivery.zip_name.created
        slip = self.std.layout.packing_slip
        created = next((f for f in slip.fields if f.type == "D"), None) if slip else None
        raw = self.ctx.slip_text(created) if created else None
        if raw is not None:
            value, ok = columns.dates(np.frombuffer(raw, np.uint8).reshape(1, -1))
            if ok[0]:
                v = int(value[0])
                return dt.date(v // 10000, v // 100 % 100, v % 100)
        self.warnings.append(Note("date_unknown"))
        return dt.date.today()

    def _rules_in_force(self, date: dt.date) -> list[c.CompiledRule]:
        lists = {}
        for name in sorted(self.book.codelists):
            cl = self.provider.codelist(name, date) if self.provider is not None else None
            if cl is None:
                continue
            lists[name] = cl
            self.releases.append(CodelistRelease(cl.name, cl.release, cl.source, cl.sample))
            if cl.fallback:
                self.warnings.append(Note("codelist_fallback", name=name, date=date.isoformat(),
                                          release=cl.release.isoformat() if cl.release else "undated"))

        self.ctx.codelists = lists
        samples = [cl.name for cl in lists.values() if cl.sample]
        if samples:
            self.warnings.append(Note("codelist_sample", names=", ".join(samples)))
        out = []
        source = self.provider.describe() if self.provider is not None else None
        for rule in self.book.rules:
            if rule.status != c.ACTIVE and not (rule.kind == c.HISTORY and self.history is not None):
                continue
            if not self.selection.wants(rule.number):
                self.status[rule.number] = ("not evaluated", self.selection.why_not(rule.number))
                continue
            if not rule.in_force(date):
                self.status[rule.number] = ("not in force", _window(rule, date))
                continue
            absent = [n for n in rule.codelists if n not in lists]
            if absent:
                note = (Note("codelist_missing", names=", ".join(absent), source=source) if source is not None
                        else Note("codelist_no_source", names=", ".join(absent)))
                self.status[rule.number] = ("not evaluated", note)
                continue
            out.append(rule)
        return out

    def _members(self, rules) -> None:
        d = self.delivery
        for rule in rules:
            if rule.kind != c.MEMBER:
                continue
            names = {"missing": d.missing, "duplicated": d.duplicated, "unknown": d.unknown}[rule.check]
            for name in names:
                self.collector.add(Finding(rule=rule.number, type=rule.rule.type, severity=rule.rule.severity,
                                           file=name, line=None, column=None, ddid=None, value=name,
                                           message=rule.rule.message))

    def rule_infos(self) -> list[RuleInfo]:
        """Every rule with its status in this run, then the ids without a number that fired."""
        infos = []
        for rule, base in zip(self.book.rules, book_infos(self.book)):
            r = rule.rule
            status, reason, reason_en = base.status, base.reason, base.reason_en
            if rule.kind == c.HISTORY and self.history is not None:
                status, reason = c.ACTIVE, ""
                if isinstance(r.violation, ast.DeletedNotStored) and not hasattr(self.history, "not_stored"):
                    status, reason = "not evaluated", Note("store_cannot_tell")
            if r.number in self.status:
                (status, reason), reason_en = self.status[r.number], ""
            same = status == base.status and reason is base.reason and reason_en is base.reason_en
            infos.append(base if same else replace(base, status=status, reason=reason, reason_en=reason_en))
        for rule in sorted(set(self.collector.counts) - {i.rule for i in infos}):
            infos.append(RuleInfo(rule=rule, type="S" if rule == "REC-CHARSET" else "V", severity="ERR", file=None,
                                  ddid=None, status=c.ACTIVE, message=ZIP_LEVEL.get(rule, rule),
                                  message_en=ZIP_LEVEL_EN.get(rule, ""), hint=ZIP_LEVEL_HINTS.get(rule, ("", ""))[0],
                                  hint_en=ZIP_LEVEL_HINTS.get(rule, ("", ""))[1]))
        return infos


class RuleSelection:
    """Which rules a run evaluates: all, or only `select`, and never `skip` (rule numbers).

    A rule left out is reported as not evaluated, with the reason. The reader's
    own ids (REC-EOL, REC-CHARSET) can be skipped too; ZIP-* cannot, since an
    unreadable delivery is never positive.
    """

    READER_IDS = ("REC-EOL", "REC-CHARSET")

    def __init__(self, select: frozenset = frozenset(), skip: frozenset = frozenset()):
        self.select, self.skip = select, skip

    @classmethod
    def of(cls, book: c.RuleBook, select=(), skip=()) -> "RuleSelection":
        """Check the numbers against the rule book; an unknown number is a usage error."""
        select, skip = frozenset(map(str, select)), frozenset(map(str, skip))
        known = {r.number for r in book.rules} | set(cls.READER_IDS)
        unknown = sorted((select | skip) - known)
        if unknown:
            zip_ids = [u for u in unknown if u in ZIP_LEVEL]
            if zip_ids:
                raise UsageError(f"{', '.join(zip_ids)} cannot be left out: an unreadable delivery is never positive")
            raise UsageError(f"no rule {', '.join(unknown)} in {book.standard.id}; see 'disval rules'")
        return cls(select, skip)

    def wants(self, number: str) -> bool:
        """Whether the run evaluates this rule."""
        return number not in self.skip and (not self.select or number in self.select)

    def why_not(self, number: str) -> Note:
        """Why a rule is left out, for the report."""
        return Note("skipped") if number in self.skip else Note("not_selected")

    @property
    def ignored_reader_ids(self) -> frozenset:
        """The reader's ids (REC-*) this run leaves out."""
        return frozenset(r for r in self.READER_IDS if not self.wants(r))


def _reading_order(layout, rules) -> list:
    """The packing slip first (other rules read it), then parents before their children, then the rest.

    A file's depth is the longest chain of foreign keys (`Field.references`) up from it: reading by depth
    puts every parent before the files that refer to it, so their keys and the fields children read are
    known when the children's batches come. Among equals, files that references point to come first.
    """
    targets = {r.target for r in rules if r.kind == c.REFERENCE}
    depth: dict[str, int] = {}

    def depth_of(f, seen=frozenset()) -> int:
        if f.name not in depth:
            parents = {layout.field(fld.references).file for fld in f.fields
                       if fld.references and layout.field(fld.references) is not None}
            parents = [layout.file(p) for p in parents - {f.name} if p not in seen]
            depth[f.name] = 1 + max((depth_of(p, seen | {f.name}) for p in parents), default=-1)
        return depth[f.name]

    return sorted(layout.files, key=lambda f: (not f.packing_slip, depth_of(f), f.name not in targets))


def _window(rule: c.CompiledRule, date: dt.date) -> Note:
    """Why a rule is not in force on the delivery's date, in either language."""
    r = rule.rule
    if r.valid_from and r.valid_until:
        return Note("in_force_between", start=r.valid_from.isoformat(), end=r.valid_until.isoformat(), date=date)
    if r.valid_until:
        return Note("in_force_until", end=r.valid_until.isoformat(), date=date)
    return Note("in_force_from", start=r.valid_from.isoformat() if r.valid_from else "-", date=date)


def _field_at(layout, column: int):
    """The field of `layout` (a FileLayout, or None) that holds the 1-based `column`, or None."""
    if layout is None:
        return None
    return next((fld for fld in layout.fields if fld.begin <= column <= fld.end), None)
