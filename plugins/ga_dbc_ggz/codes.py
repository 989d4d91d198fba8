"""Codes for generated GA DBC-GGZ 9.0 deliveries, drawn from the codelists the way the rules read them.

With a codelist source each code is drawn valid on the date it is used at and
fit for the GGZ (branche-indicatie); where a rule reads a code's other columns
(activiteitsoort, groepcode) or its presence in a second list (Hoofdberoep),
the generator asks here, so that a generated delivery passes those rules.
Without a source a few fixed codes of the NZa's 2019 lists are written.
"""
from __future__ import annotations

import numpy as np

from disval.core import synthetic as syn

# Written when no codelist source is given: codes of the NZa's 2019 GGZ lists.
FALLBACK_CODES = {
    "CL_ZORGTYPE_GGZ": ["101", "106", "107"], "vervolg": ["201", "202", "203"], "CL_CIRCUIT_GGZ": ["1", "2", "3"],
    "CL_REDENSLUITEN_GGZ": ["1", "2", "3"], "CL_HOOFDBEROEPEN_GGZ": ["MB.SF.vslarts", "MB.SP.kger"],
    "CL_BEROEP_GGZ": ["MB.SF.vslarts", "MB.SP.kger"],
    "Tijdschrijven": ["act_1", "act_2.1"], "Dagbesteding": ["act_9.1"], "Verblijfsdag": ["act_8.1.1"],
    "Verrichting": ["act_10.1"], "hoofdgroep": ["004", "006", "009", "010", "013"],
}
# CL_ZORGTYPE_GGZ groepcode: 100 is the initial DBC, 200 a follow-up (vervolg) DBC. GA 1540 allows one
# initial DBC per zorgtraject, so a zorgtraject opens with an initial DBC and continues with follow-ups.
INITIAL, FOLLOW_UP = "100", "200"


class Codes:
    """A code picker per use, from the codelist source or, without one, fixed codes."""

    def __init__(self, layout, source, created: dt.date, days):
        self.layout, self.source, self.created, self.days = layout, source, created, days
        self._cache = {}

    def picker(self, ddid: str, key: str | None = None, accept=None):
        """A drawer of codes for field `ddid`, built once per `key`; `accept(code)` narrows the codes."""
        key = key or ddid
        if key not in self._cache:
            fld = self.layout.field(ddid)
            if self.source is None:
                self._cache[key] = syn.FixedCodes(fld, FALLBACK_CODES[key if key in FALLBACK_CODES else
                                                                     fld.codelists[0]])
            else:
                lists = []
                for name in fld.codelists:
                    found = self.source.codelist(name, self.created)
                    if found is None:
                        raise ValueError(f"codelist {name} is not in {self.source.describe()}")
                    lists.append(found)
                wanted = accept or (lambda code: True)
                self._cache[key] = syn.CodePicker(fld, lists, self.days,
                                                  lambda code: wanted(code) and _for_ggz(lists, code))
        return self._cache[key]

    def activity(self, ddid: str, soort: str):
        """Activity codes of one activiteitsoort, where the codelist says which (its `soort` column)."""
        if self.source is None:
            return self.picker(ddid, soort)
        lists = [self.source.codelist(n, self.created) for n in self.layout.field(ddid).codelists]

        def of_kind(code):
            kinds = _values(lists, code, "soort")
            return kinds == {None} or soort in kinds

        return self.picker(ddid, f"{ddid}:{soort}", of_kind)

    def zorgtype(self, ddid: str, group: str):
        """Zorgtype codes of one groepcode (initial or follow-up DBC), as CL_ZORGTYPE_GGZ groups them."""
        if self.source is None:
            return self.picker(ddid, "CL_ZORGTYPE_GGZ" if group == INITIAL else "vervolg")
        lists = [self.source.codelist(n, self.created) for n in self.layout.field(ddid).codelists]

        def of_group(code):
            groups = _values(lists, code, "groepcode")
            return groups == {None} or group in groups  # a list without groepcode cannot tell them apart

        return self.picker(ddid, f"{ddid}:{group}", of_group)

    def valid_in(self, name: str, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Whether each code (a row of `codes`) is valid in codelist `name` on its day, as the rules read it."""
        if self.source is None:
            known = {c.encode("iso-8859-1") for c in FALLBACK_CODES[name]}
            return np.array([bytes(row).rstrip() in known for row in codes], dtype=bool)
        cl = self.source.codelist(name, self.created)
        if cl is None:
            raise ValueError(f"codelist {name} is not in {self.source.describe()}")
        on = syn.yyyymmdd(days).astype(np.int64) if len(days) else np.empty(0, np.int64)
        found = np.zeros(len(codes), dtype=bool)
        if not len(codes):
            return found
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, row in enumerate(unique):
            rows = cl.entries.get(bytes(row).decode("iso-8859-1").strip(), ())
            if not rows:
                continue
            mine = inverse == k
            found[mine] = np.any([(on[mine] >= r.begin) & (on[mine] <= r.end) for r in rows], axis=0)
        return found

    def hoofdgroep(self, ddid: str):
        """A diagnosehoofdgroep (NNN): CL_DIAGNOSE_GGZ's prestatiecodedeel where the list carries it."""
        fld = self.layout.field(ddid)
        groups = set()
        if self.source is not None:
            for name in fld.codelists:
                cl = self.source.codelist(name, self.created)
                for rows in (cl.entries.values() if cl else ()):
                    for row in rows:
                        part = (getattr(row, "attributes", None) or {}).get("prestatiecodedeel_ggz", "")
                        if len(part) == 3 and part.isdigit():
                            groups.add(part)
        return syn.FixedCodes(fld, sorted(groups) or FALLBACK_CODES["hoofdgroep"])


def _values(lists, code: str, column: str) -> set:
    """The values a column has in the rows of `code` (None where the list carries no such column)."""
    return {(getattr(row, "attributes", None) or {}).get(column) for cl in lists if cl
            for row in cl.entries.get(code, ())}


def _for_ggz(lists, code: str) -> bool:
    """Whether a code serves the GGZ: branche-indicatie 0 (GGZ and FZ) or 1 (GGZ only), not 2 (FZ only)."""
    kinds = _values(lists, code, "branche_indicatie")
    return None in kinds or bool(kinds & {"0", "1"})
