"""GA OHW-GBG 1.0 v1.2: the NZa standard for GBG onderhanden-werk deliveries to DIS.

Layout (§6.3-6.4) in `layout.toml`, rules in disval.rules `ga_ohw_gbg_1_0.rules`,
zip naming (§6.2.1) below, default codelists in `codelists/`.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from disval.core.layout import load_layout
from disval.core.plugins import hookimpl
from disval.core.standard import DIS_POLICY, GUIDANCE_POLICY, Standard, dis_zip_naming

STANDARD_ID = "GA-OHW-GBG-1.0"
HERE = Path(__file__).parent

# DIS_GBG_OHW_<PROD|TEST>_010_<AGB 8>_<ii>_<YYYYMMDD>_<vv>.zip (§6.2.1)
NAMING = dis_zip_naming("GBG_OHW")


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
