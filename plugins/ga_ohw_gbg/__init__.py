"""GA OHW-GBG 1.0 v1.2: the NZa standard for GBG onderhanden-werk deliveries to DIS.

Layout (§6.3-6.4) in `layout.toml`, rules in disval.rules `ga_ohw_gbg_1_0.rules`,
zip naming (§6.2.1) below, default codelists in `codelists/`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from disval.core.layout import load_layout
from disval.core.plugins import hookimpl
from disval.core.standard import DIS_POLICY, GUIDANCE_POLICY, Standard, ZipNaming

STANDARD_ID = "GA-OHW-GBG-1.0"
HERE = Path(__file__).parent

NAMING = ZipNaming(
    # DIS_GBG_OHW_<PROD|TEST>_010_<AGB 8>_<ii>_<YYYYMMDD>_<vv>.zip; any three-digit version is
    # accepted here so that validation 737 (unknown GA version) can report it.
    pattern=re.compile(
        r"DIS_GBG_OHW_(?P<phase>PROD|TEST)_(?P<version>\d{3})_(?P<provider>\d{8})_(?P<branch>\d{2})"
        r"_(?P<created>\d{8})_(?P<sequence>\d{2})\.zip"
    ),
    claims=re.compile(r"DIS_GBG_OHW_.*", re.IGNORECASE),
    phases={"PROD": "production", "TEST": "test"},
    part_types={
        "phase": "AN", "version": "AN", "provider": "AN", "branch": "AN", "created": "D",
        "sequence": "AN", "name": "AN", "ga_version": "AN",
    },
    # The packing slip writes the GA version as NN.N (GA 1.0 -> "01.0"), the zip name as NNN ("010").
    derived=lambda parts: {"ga_version": f"{parts['version'][:2]}.{parts['version'][2:]}"},
)


@lru_cache(maxsize=1)
def standard() -> Standard:
    """The GA OHW-GBG 1.0 standard."""
    rules = Path(str(resources.files("disval.rules").joinpath("ga_ohw_gbg_1_0.rules")))
    return Standard(
        id=STANDARD_ID,
        title="GA OHW-GBG 1.0 v1.2 (NZa, DIS onderhanden werk GBG)",
        version="1.2",
        layout=load_layout(HERE / "layout.toml"),
        rule_files=(rules,),
        naming=NAMING,
        policies={"dis": DIS_POLICY, "guidance": GUIDANCE_POLICY},
        default_policy="dis",
        codelists_dir=HERE / "codelists",
        import_mode="full",  # §5.2.1: every delivery holds all of the provider's records
        connect_settings={"supplier": "3339", "package": "3334"},  # softwareleverancier, softwarepakket
    )


@hookimpl
def disval_standards():
    return [standard()]


@hookimpl(trylast=True)
def disval_delivery_generator(standard):
    if standard.id != STANDARD_ID:
        return None
    from .generate import OhwGenerator

    return OhwGenerator()
