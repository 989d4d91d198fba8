"""Warnings of a run that reports show in the reader's language.

A `Note` is a `str` (its English text), so everything that keeps or prints
warnings as text goes on working; it also carries its key and values, so a
report in Dutch can say the same thing in Dutch (`Note.text(lang)`).
"""
from __future__ import annotations

# key -> (Dutch, English); both take the same {placeholders}.
NOTES = {
    "date_unknown": (
        "de creatiedatum van de aanlevering is onbekend (zipnaam en pakbon); validaties en codelijsten "
        "zijn genomen zoals ze vandaag gelden",
        "the delivery's creation date is unknown (zip name and packing slip); rules and codelists are "
        "taken as of today",
    ),
    "codelist_fallback": (
        "geen release van {name} is gedateerd op of vóór {date}; de oudste is gebruikt ({release})",
        "no release of {name} is dated on or before {date}; used the oldest ({release})",
    ),
    "codelist_sample": (
        "VOORBEELD-CODELIJSTEN: {names} zijn door disval verzonnen, niet de lijsten van de NZa; bevindingen "
        "over codes (en hun afwezigheid) zeggen dus niets. Valideer met --codelists MAP met de releases van de NZa",
        "SAMPLE CODELISTS: {names} are invented by disval, not the NZa's lists; findings about codes (and "
        "their absence) mean nothing. Validate with --codelists DIR holding the NZa's releases",
    ),
    "sample_refused": (
        "beoordeling negatief: met --require-real-codelists telt een validatie tegen een "
        "voorbeeld-codelijst ({names}) niet als positief",
        "assessment negative: with --require-real-codelists a validation against a sample codelist "
        "({names}) does not count as positive",
    ),
    # Why a rule was not evaluated (RuleInfo.reason).
    "needs_store": (
        "vraagt de gegevens van eerdere aanleveringen of het klantregister: laat de aanlevering door de "
        "poort gaan (disval submit)",
        "needs the delivery store (earlier deliveries or the customer registry)",
    ),
    "in_force_from": ("geldt vanaf {start}; de aanlevering is van {date}",
                      "applies from {start}; the delivery is of {date}"),
    "in_force_until": ("geldt tot en met {end}; de aanlevering is van {date}",
                       "applies until {end}; the delivery is of {date}"),
    "in_force_between": ("geldt van {start} tot en met {end}; de aanlevering is van {date}",
                         "applies from {start} until {end}; the delivery is of {date}"),
    "codelist_missing": ("codelijst {names} niet gevonden in {source}", "codelist {names} not found in {source}"),
    "codelist_no_source": ("codelijst {names}: geen codelijstbron opgegeven (--codelists)",
                           "codelist {names}: no codelist source given (--codelists)"),
    "file_unread": ("{file} ontbreekt of kon niet gelezen worden", "{file} is missing or could not be read"),
    "store_cannot_tell": ("de gegevensopslag kan niet zeggen welke sleutels ze bevat (not_stored)",
                          "the delivery store cannot tell which keys it holds (not_stored)"),
    "skipped": ("weggelaten met --skip", "left out with --skip"),
    "not_selected": ("niet gekozen met --select", "not among --select"),
    "release_changed": (
        "codelijst {name}: nu is release {now} gebruikt, {then} toen de aanlevering op {day} werd gevalideerd",
        "codelist {name}: release {now} was used now, {then} when the delivery was validated on {day}",
    ),
}


class Note(str):
    """A warning: its English text as a str, plus the key and values to say it in Dutch."""

    key: str
    values: dict

    def __new__(cls, key: str, **values) -> "Note":
        """The note `key` of `NOTES`, filled in with `values` (all turned to text)."""
        values = {k: str(v) for k, v in values.items()}
        note = super().__new__(cls, NOTES[key][1].format(**values))
        note.key, note.values = key, values
        return note

    def text(self, lang: str) -> str:
        """The note in `lang` ("nl" or "en")."""
        dutch, english = NOTES[self.key]
        return (english if lang == "en" else dutch).format(**self.values)


def note_text(warning: str, lang: str) -> str:
    """A warning in `lang` when it is a `Note`; any other text as it is."""
    return warning.text(lang) if isinstance(warning, Note) else warning
