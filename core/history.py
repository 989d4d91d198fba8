"""What the rules that need history ask of the delivery store.

Validation 1656, 2054 (keys already stored in DIS), deletions of keys DIS does
not hold (GA DBC-GGZ 573/407/357), 1812, 1813 (software
changed without notice) and 1819 (the NZa customer registry) cannot be decided
from one delivery. `validate(..., history=...)` evaluates them with an object
of this shape; without one they are listed as "not evaluated".
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Protocol


class History(Protocol):
    """The receiving side's memory of one provider."""

    def stored_with_other(self, file: str, key: str, other: str, pairs: Iterable[tuple[str, str]]) -> set[str]:
        """Of the delivered (key value, other value) pairs, the key values stored in DIS for this
        provider under a different `other` value. `key`/`other` are DDIDs of `file`."""

    # Optional: `stored_with_other_at(file, key, other) -> set[int] | None`, the line numbers of the
    # delivered records of `file` whose key is stored under a different `other` value, answered
    # without the pairs (a store that holds the delivery's records already); None when it cannot
    # answer so, and `stored_with_other` is asked instead.
    # Optional: `nothing_stored(file) -> bool`, asked before the records are read: True when the
    # provider holds nothing any delivered record of `file` could contradict (its first delivery), so
    # `K stored with other O` finds nothing and its (key, other) pairs are not collected.

    def not_stored(self, file: str, key: str, keys: Iterable[str]) -> set[str]:
        """Of the delivered key values (of records with status vlag 'V'), those DIS does not hold for
        this provider in `file`: a deletion of something never delivered (`K deleted but not stored`)."""

    def expected_value(self, ddid: str) -> str | None:
        """The value packing-slip field `ddid` must have: the previous accepted delivery's, unless a
        change was registered since (then None: anything goes). None also when there is no previous one."""

    def account_registered(self, user: str, provider: str, branch: str, on: dt.date) -> bool:
        """Whether user + AGB + volgnr is a registered account that is active on `on`."""
