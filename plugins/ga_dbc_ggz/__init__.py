"""GA DBC-GGZ 9.0 v1.0: the NZa standard for the monthly DIS deliveries of GGZ DBC's (valid from 15 April 2019).

The layout (`layout.toml`) and the rules of every mechanical validation
(disval.rules `ga_dbc_ggz_9_0.rules`) are written by `disval ga import` from the
NZa's machine-readable workbook; the rest is written by hand in
`ga_dbc_ggz_9_0_hand.rules`. The workbook is Dutch only: the import takes the
English field and codelist names from `english.toml` (the hand-written rules
carry their English inline). Zip naming (§6.2.1) and what identifies a patient
are declared below. No codelists are shipped: give the NZa's GGZ lists with
`--codelists DIR`.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

try:
    import tomllib  # novermin (3.10 takes the fallback below)
except ImportError:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

from disval.core.codelists import specs_from_table
from disval.core.layout import load_layout
from disval.core.plugins import hookimpl
from disval.core.standard import DIS_POLICY, RULE_TYPES, Standard, dis_zip_naming

STANDARD_ID = "GA-DBC-GGZ-9.0"
RULE_FILES = ("ga_dbc_ggz_9_0.rules", "ga_dbc_ggz_9_0_hand.rules")
HERE = Path(__file__).parent

# DIS_GGZ_DBC_<PROD|TEST>_090_<AGB 8>_<ii>_<eejjmmdd>_<vv>.zip (§6.2.1)
NAMING = dis_zip_naming("GGZ_DBC")

# What identifies a patient (GA §2.2: the PVM removes or pseudonymises these before delivery), and the
# koppelnummer that ties a patient's records together: reports mask them unless asked.
IDENTIFYING = (
    "1432", "1453", "1527",  # Koppelnummer (PATIENT, ZORGTRAJECT, OVERIGE_VERRICHTING)
    "1433", "1434", "1436", "1437", "1439",  # names, prefixes, initials
    "1440", "1441", "1442",  # postcode, house number and addition
    "1444",  # date of birth
    "1446",  # burgerservicenummer
)


# The GA's validation types: the usual ones plus PVM (pseudonimisatie, GA §5's table of types).
GA_RULE_TYPES = RULE_TYPES + ("PVM",)


def codelist_declarations() -> dict[str, dict]:
    """{GA codelist name: its declaration in codelists.toml (file, and key/begin/end where not the usual)}."""
    return tomllib.loads((HERE / "codelists.toml").read_text(encoding="utf-8"))["codelists"]


@lru_cache(maxsize=1)
def standard() -> Standard:
    """The GA DBC-GGZ 9.0 standard."""
    rules = resources.files("disval.rules")
    return Standard(
        id=STANDARD_ID,
        title="GA DBC-GGZ 9.0 v1.0 (NZa, DIS DBC-GGZ)",
        version="1.0",
        layout=load_layout(HERE / "layout.toml"),
        rule_files=tuple(Path(str(rules.joinpath(name))) for name in RULE_FILES),
        naming=NAMING,
        policies={"dis": DIS_POLICY},
        default_policy="dis",
        identifying=IDENTIFYING,
        rule_types=GA_RULE_TYPES,
        codelists=specs_from_table(codelist_declarations()),
        import_mode="mutations",  # §5.3: status vlag per ZTR, DBC and OVV record; a DBC brings its GZP and DGN
        connect_settings={"supplier": "1539", "package": "1540"},  # softwareleverancier, softwarepakket
    )


@hookimpl
def disval_standards():
    return [standard()]


@hookimpl(trylast=True)
def disval_delivery_generator(standard):
    if standard.id != STANDARD_ID:
        return None
    from .generate import GgzGenerator

    return GgzGenerator()
