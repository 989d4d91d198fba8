"""The listed findings of a report view, as rows made while a format writes them.

A report may list millions of findings (`--max-findings 0` on a delivery in
which every record is faulty). The view therefore holds no list of rows: it
reads the findings (from memory, or as they spilled to disk, see
`disval.core.finding_store`) each time a format iterates, and turns each into
its row (`finding_row`) on the way. A format that needs a fact about a
rule's rows before writing them (is there a message column? which files?)
asks `RuleRows.facts`, computed in one pass and kept.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from typing import Callable, Iterator

from .findings import Finding
from .finding_store import FindingList

_sort_key = Finding.sort_key


class ListedRows:
    """One rule's listed rows (at most the view's limit), in delivery order; iterable again and again."""

    def __init__(self, source: "RuleRows", rule: str):
        self._source, self.rule = source, rule

    def __iter__(self) -> Iterator[dict]:
        return map(self._source.row, self._source.findings_of(self.rule))

    def __len__(self) -> int:
        return self._source.listed(self.rule)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __eq__(self, other) -> bool:
        if isinstance(other, (ListedRows, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class RuleRows(Mapping):
    """The listed rows of each rule: `by_rule[rule]`, `by_rule.get(rule, [])`; only rules with rows are keys."""

    def __init__(self, findings: FindingList, limit: int | None, row: Callable[[Finding], dict],
                 block_parts: Callable | None = None):
        self.findings, self.limit, self.row, self.block_parts = findings, limit, row, block_parts
        self._facts: dict[str, dict] = {}

    def rendered(self, render_block: Callable[..., list], render_row: Callable[[dict], object],
                 rules: list[str] | None = None) -> Iterator[list]:
        """The listed rows of `rules` (default: all), rendered, as lists in delivery order: a block of
        findings by `render_block(*block_parts(block))` (see `disval.core.report_view.block_parts`)
        without a row per finding, any other finding by `render_row(row)`. The result is that of
        rendering each row of iterating them."""
        parts = self.block_parts
        if self.limit is not None or parts is None or not isinstance(self.findings, FindingList):
            # A few per rule: row by row is quick.
            rows = AllRows(self) if rules is None else itertools.chain.from_iterable(self.get(r, ()) for r in rules)
            return ([render_row(row)] for row in rows)

        def block(b):
            made = parts(b)
            return render_block(*made) if made is not None else [render_row(self.row(f)) for f in b.findings()]

        return self.findings.rendered(block, lambda f: render_row(self.row(f)), rules)

    def listed(self, rule: str) -> int:
        """How many findings of `rule` are listed."""
        kept = self.findings.kept.get(rule, 0)
        return kept if self.limit is None else min(kept, self.limit)

    def findings_of(self, rule: str) -> Iterator[Finding]:
        """The listed findings of `rule` (not yet rows), in delivery order."""
        stream = self.findings.by_rule(rule)
        return stream if self.limit is None else itertools.islice(stream, self.limit)

    def __getitem__(self, rule: str) -> ListedRows:
        if not self.listed(rule):
            raise KeyError(rule)
        return ListedRows(self, rule)

    def __iter__(self) -> Iterator[str]:
        return (rule for rule in self.findings.rules if self.listed(rule))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def facts(self, rule: str, description: str) -> dict:
        """What a layout needs to know of a rule's rows before writing them, in one pass:
        `message` (a row says more than `description`), `related`, `cause` (any row has one) and
        `files` (the files the rows name)."""
        if rule not in self._facts:
            facts = {"message": False, "related": False, "cause": False, "files": set()}
            last = None
            # A block of findings shares its template's message, file, cause and related fields: it is
            # looked at once (its template stands for each of its findings), not a row made per finding.
            for rows in self.rendered(lambda row, lines, *_: [row] * len(lines), lambda row: row, rules=[rule]):
                for row in rows:
                    if row is last:
                        continue
                    last = row
                    facts["message"] = facts["message"] or row["message"] != description
                    facts["related"] = facts["related"] or bool(row["related"])
                    facts["cause"] = facts["cause"] or bool(row["cause"])
                    if row["file"]:
                        facts["files"].add(row["file"])
            self._facts[rule] = facts
        return self._facts[rule]


class AllRows:
    """Every listed row of a view, in delivery order (the rules' rows merged); iterable again and again."""

    def __init__(self, by_rule: RuleRows):
        self._by_rule = by_rule

    def rendered(self, render_block: Callable[..., list], render_row: Callable[[dict], object]) -> Iterator[list]:
        """Every listed row rendered, as lists in delivery order (see `RuleRows.rendered`)."""
        return self._by_rule.rendered(render_block, render_row)

    def __iter__(self) -> Iterator[dict]:
        if self._by_rule.limit is None:  # every finding is listed: the findings' own merged order
            return map(self._by_rule.row, self._by_rule.findings)
        streams = [self._by_rule.findings_of(rule) for rule in self._by_rule]
        if not streams:
            return iter(())
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_sort_key)
        return map(self._by_rule.row, merged)

    def __len__(self) -> int:
        return sum(self._by_rule.listed(rule) for rule in self._by_rule)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index):
        rows = list(self)  # a caller that indexes wants the rows in hand; iterate to stream
        return rows[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, (AllRows, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
