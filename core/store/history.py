"""The history rules answered from a `SqlStore`: what it holds for one provider.

Keys and other values are compared typed, as the import stores them
(`disval.core.store.typed_columns`): a padded and a trimmed AN value are the same
key, a date is a date. Records deleted by a mutation import ('V') are gone
from the typed tables, so the rules see deletes.
"""
from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Iterable

from .delivery_store import ACCEPTED
from .staging import LIVE
from .tables import SQL_TYPES, FileTable, catalogue
from .typed_columns import values

if TYPE_CHECKING:  # pragma: no cover
    from .sql import SqlStore
    from .staging import Stage

LOOKUP = "disval_history_lookup"  # a temporary table of delivered values
PART = 100_000  # delivered values typed and staged at a time


class StoreHistory:
    """`disval.core.history.History` answered from a `SqlStore`, for one provider.

    `standard` (an id) narrows the lookups to that standard's tables; without
    it every standard's table of the named file is asked.
    """

    def __init__(self, store: "SqlStore", agb: str, branch: str, before: int | None = None,
                 standard: str | None = None, stage: "Stage | None" = None):
        self._store, self.agb, self.branch, self.before, self.standard = store, agb, branch, before, standard
        self._stage = stage  # the delivery's records, staged while it is validated

    def _provider_id(self) -> int | None:
        row = self._store._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?",
                                (self.agb, self.branch)).fetchone()
        return row[0] if row else None

    def _tables(self, file: str, *ddids: str) -> list[FileTable]:
        # A fresh stage's records are in its standard's tables already, uncommitted: the provider held
        # nothing there before the delivery being validated, so those tables have nothing to say.
        fresh = self._fresh()
        return [t for t in catalogue(self._store, file)
                if (self.standard is None or t.standard == self.standard) and all(t.column(d) for d in ddids)
                and not (fresh and t.standard == self._stage.standard)]

    def _fresh(self) -> bool:
        """Whether the delivery being validated is written straight into the tables (`Stage.fresh`) and
        this history is its provider's."""
        stage = self._stage
        return stage is not None and stage.fresh and stage.provider_id == self._provider_id()

    def _holds(self, t: FileTable, provider_id: int) -> bool:
        return self._store._exec(f"SELECT 1 FROM {t.table} WHERE provider_id = ? LIMIT 1",
                                 (provider_id,)).fetchone() is not None

    def _matches(self, t: FileTable, rows: Iterable[tuple[str, ...]], ddids: list[str], condition: str) -> set[str]:
        """The delivered keys (as delivered) of `rows` (key text, then the texts of `ddids`) that satisfy
        `condition` about `s` (a delivered row, its values typed as the columns of `ddids`) and `r` (the
        provider's stored record of `t`).

        The delivered values go into a temporary table, part by part (memory stays bounded), and
        the database joins: one statement instead of a lookup per key, for a million keys.
        """
        store, provider_id = self._store, self._provider_id()
        columns = [t.column(d) for d in ddids]
        types = [SQL_TYPES[c.type].format(**store.dialect.types) for c in columns]
        own = not store._in_transaction
        if own:
            store._exec("BEGIN")
        try:
            store._exec(f"CREATE TEMP TABLE {LOOKUP} (delivered TEXT, "
                        + ", ".join(f"{c.name} {ty}" for c, ty in zip(columns, types)) + ")")
            rows = iter(rows)
            while part := list(itertools.islice(rows, PART)):
                typed = [values([r[i + 1] for r in part], c.field(t.file), c.key) for i, c in enumerate(columns)]
                store._stage_rows(LOOKUP, ["delivered", *(c.name for c in columns)],
                                  zip((r[0] for r in part), *typed))
            if store.dialect.analyze:
                store._exec(store.dialect.analyze.format(table=LOOKUP))
            found = store._exec(f"SELECT s.delivered FROM {LOOKUP} s WHERE {condition}", (provider_id,)).fetchall()
        finally:
            store._exec(f"DROP TABLE IF EXISTS {LOOKUP}")
            if own:
                store._exec("COMMIT")
        return {row[0] for row in found}

    def stored_with_other(self, file: str, key: str, other: str, pairs: Iterable[tuple[str, str]]) -> set[str]:
        """Of the delivered (key, other) pairs, the key values (as delivered) that the provider's
        imported records of `file` hold under a different `other` value (rules 1656, 2054)."""
        provider_id = self._provider_id()
        tables = [t for t in self._tables(file, key, other) if provider_id is not None and self._holds(t, provider_id)]
        if not tables:  # nothing stored (a first delivery): nothing to contradict
            return set()
        if len(tables) > 1:
            pairs = list(pairs)
        hits: set[str] = set()
        for t in tables:
            kc, oc = t.column(key).name, t.column(other).name
            same = self._store.dialect.same.format(a=f"r.{oc}", b=f"s.{oc}")
            hits |= self._matches(t, ((k, k, o) for k, o in pairs), [key, other],
                                  f"EXISTS (SELECT 1 FROM {t.table} r WHERE r.provider_id = ? AND r.{kc} = s.{kc}"
                                  f" AND NOT ({same}))")
        return hits

    def nothing_stored(self, file: str) -> bool:
        """Whether the delivery being validated is its provider's first of this standard, written straight
        into the tables (`Stage.fresh`): `stored_with_other_at` then answers no line for any file."""
        stage = self._stage
        return stage is not None and stage.standard == self.standard and self._fresh()

    def stored_with_other_at(self, file: str, key: str, other: str) -> set[int] | None:
        """The line numbers of the delivered live records of `file` whose key the provider's imported
        records hold under a different `other` value (rules 1656, 2054), answered by one join of the
        staged records with the typed table's primary key; None when the delivery is not staged here."""
        stage = self._stage
        if stage is not None and stage.standard == self.standard and self._fresh():
            return set()  # a first delivery: nothing stored to contradict
        if stage is None or stage.standard != self.standard or file not in stage.stages:
            return None
        t = stage.tables[file]
        if t.column(key) is None or t.column(other) is None:
            return None
        provider_id = self._provider_id()
        if provider_id is None or not self._holds(t, provider_id):  # a first delivery: nothing to contradict
            return set()
        kc, oc = t.column(key).name, t.column(other).name
        same = self._store.dialect.same.format(a=f"r.{oc}", b=f"s.{oc}")
        stage.analyze(file)
        found = self._store._exec(
            f"SELECT s.line FROM {stage.stages[file]} s JOIN {t.table} r ON r.provider_id = ? AND r.{kc} = s.{kc}"
            f" WHERE {LIVE} AND NOT ({same})", (provider_id,)).fetchall()
        return {row[0] for row in found}

    def not_stored(self, file: str, key: str, keys: Iterable[str]) -> set[str]:
        """Of the delivered key values, those the provider's imported records of `file` do not hold
        (a 'V' for a key DIS does not know: `key deleted but not stored`)."""
        keys = list(keys)  # deletions: a few, not a whole delivery
        provider_id = self._provider_id()
        missing = set(keys)
        for t in self._tables(file, key):
            if provider_id is None or not missing:
                break
            kc = t.column(key).name
            missing &= self._matches(t, ((k, k) for k in keys), [key],
                                     f"NOT EXISTS (SELECT 1 FROM {t.table} r WHERE r.provider_id = ?"
                                     f" AND r.{kc} = s.{kc})")
        return missing

    def expected_value(self, ddid: str) -> str | None:
        """The previous accepted delivery's packing-slip value of `ddid` (rules 1812, 1813); None when
        there is none, or when a software change was registered since that delivery was submitted."""
        store = self._store
        previous = store._latest(self.agb, self.branch, ACCEPTED, before=self.before)
        if previous is None or ddid not in previous.packing_slip:
            return None
        if any(n.noticed_at > previous.submitted_at for n in store.software_notices(self.agb, self.branch)):
            return None
        return previous.packing_slip[ddid].rstrip()

    def account_registered(self, user: str, provider: str, branch: str, on: dt.date) -> bool:
        """Whether user + AGB + volgnr is a registered account, valid on `on` (rule 1819)."""
        registered = self._store.provider(provider.rstrip(" "), branch.rstrip(" "))
        return registered is not None and registered.username == user.rstrip(" ") and registered.active_on(on)

