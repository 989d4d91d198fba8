"""An organisation's own rules for GA OHW-GBG 1.0, added through `disval_extra_rules`.

The rules live in `ga_ohw_gbg_1_0.rules` beside this module, in the rule
language the GA's own rules are written in. Copy this package, rename it,
replace the rules: that is the whole plugin.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from disval.core.plugins import hookimpl

# Which rules file goes with which standard; a standard not listed gets nothing.
RULE_FILES = {"GA-OHW-GBG-1.0": "org_ga_ohw_gbg_1_0.rules"}


@hookimpl
def disval_extra_rules(standard):
    """Our rules file for `standard`, if we have one."""
    name = RULE_FILES.get(standard.id)
    if name is None:
        return []
    return [Path(str(resources.files(__package__).joinpath(name)))]
