"""What a standard plugin declares: layout, rules, zip naming, member set and blocking policies.

A *standard* is one version of a Gegevensaanleverstandaard (or another
registry's dataset). Plugins return `Standard` values from the
`disval_standards` hook; the core never hard-codes one.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .codelists import CodelistSpec
from .layout import Layout

PHASES = ("test", "production")

# The validation types (GA: type) of the GA's own tables; a standard that declares more (GA DBC-GGZ
# has PVM) lists them in `Standard.rule_types`, and the rule compiler accepts exactly that list.
RULE_TYPES = ("M", "S", "R", "V", "UK", "FK", "BR", "OH")


@dataclass(frozen=True)
class ZipName:
    """A zip name taken apart: the phase, provider and ordering, plus every named part for rules."""

    name: str
    phase: str  # "test" or "production"
    provider: str  # AGB code (zorgaanbiedercode)
    branch: str  # instelling volgnr DIS
    created: dt.date  # creatiedatum
    sequence: str  # volgnummer
    parts: dict[str, str] = field(default_factory=dict)

    @property
    def order(self) -> tuple[dt.date, str]:
        """Processing order within a provider: creation date, then sequence number (GA §4.3.1)."""
        return (self.created, self.sequence)


@dataclass(frozen=True)
class ZipNaming:
    """How a standard names its zip files.

    `pattern` is a regular expression with named groups; `phase`, `provider`,
    `branch`, `created` (YYYYMMDD) and `sequence` are required; every group is
    a part rules can read as `zip.<group>`. `claims` is a looser pattern that
    says a name is meant for this dataset at all (so that a near miss gets a
    naming finding instead of 'unknown standard'). `derived` adds parts
    computed from the groups (e.g. the GA version in the packing slip's format).
    """

    pattern: re.Pattern
    claims: re.Pattern
    phases: dict[str, str]  # token in the name -> "test" | "production"
    part_types: dict[str, str]  # part -> AN | D
    derived: Callable[[dict[str, str]], dict[str, str]] = lambda parts: {}

    def parse(self, name: str) -> ZipName | None:
        """The name's parts, or None when it does not follow the naming convention."""
        m = self.pattern.fullmatch(name)
        if not m:
            return None
        parts = {k: v for k, v in m.groupdict().items() if v is not None}
        try:
            created = dt.datetime.strptime(parts["created"], "%Y%m%d").date()
        except ValueError:
            return None
        parts["name"] = name
        parts.update(self.derived(parts))
        return ZipName(
            name=name, phase=self.phases[parts["phase"]], provider=parts["provider"], branch=parts["branch"],
            created=created, sequence=parts["sequence"], parts=parts,
        )


def dis_zip_naming(dataset: str) -> ZipNaming:
    """The DIS zip naming every GA shares: `DIS_<dataset>_<PROD|TEST>_<vvv>_<AGB>_<ii>_<date>_<vv>.zip`.

    `dataset` is the name's fixed part, e.g. "GBG_OHW" or "GGZ_DBC". Any three-digit version is
    accepted so that a rule can report a delivery made under another GA version; `zip.ga_version` is
    that version as the packing slip writes it (NN.N: "090" -> "09.0").
    """
    return ZipNaming(
        pattern=re.compile(
            rf"DIS_{dataset}_(?P<phase>PROD|TEST)_(?P<version>\d{{3}})_(?P<provider>\d{{8}})_(?P<branch>\d{{2}})"
            r"_(?P<created>\d{8})_(?P<sequence>\d{2})\.zip"
        ),
        claims=re.compile(rf"DIS_{dataset}_.*", re.IGNORECASE),
        phases={"PROD": "production", "TEST": "test"},
        part_types={
            "phase": "AN", "version": "AN", "provider": "AN", "branch": "AN", "created": "D",
            "sequence": "AN", "name": "AN", "ga_version": "AN",
        },
        derived=lambda parts: {"ga_version": f"{parts['version'][:2]}.{parts['version'][2:]}"},
    )


@dataclass(frozen=True)
class BlockingPolicy:
    """Which findings make the assessment negative."""

    name: str
    description: str
    blocking_severities: frozenset[str]

    def blocks(self, severity: str, rule: str) -> bool:
        """Whether a finding of this severity blocks. Zip-level findings (ids 'ZIP-...') always do."""
        return rule.startswith("ZIP-") or severity in self.blocking_severities


DIS_POLICY = BlockingPolicy(
    "dis", "Regular DIS process: every ERR rejects the delivery, WRN never does.", frozenset({"ERR"})
)
GUIDANCE_POLICY = BlockingPolicy(
    "guidance",
    "The validations are guidance (GA OHW-GBG §1.2): only an unreadable delivery is rejected.",
    frozenset(),
)


@dataclass(frozen=True)
class Standard:
    """One version of a delivery standard, as a plugin declares it."""

    id: str  # e.g. "GA-OHW-GBG-1.0"
    title: str
    version: str  # document version, e.g. "1.2"
    layout: Layout
    rule_files: tuple[Path, ...]
    naming: ZipNaming
    policies: dict[str, BlockingPolicy]
    default_policy: str
    codelists_dir: Path | None = None  # the shipped default codelists
    reader: str = "fixed-width"
    identifying: tuple[str, ...] = ()  # DDIDs masked in reports (besides layout flags)
    rule_types: tuple[str, ...] = RULE_TYPES  # the validation types its rules may have
    # Per GA codelist name (CL_BEROEP_GGZ), the NZa list file that serves it and how to read its columns;
    # a name not declared here is found by the name its file's header implies.
    codelists: dict[str, CodelistSpec] = field(default_factory=dict)
    # How a positively assessed production delivery is imported: "full" (its records replace the
    # provider's) or "mutations" (status vlag per record; see disval.core.store.importing).
    import_mode: str = "full"
    # The packing-slip fields whose values the first positive connect delivery fixes as the
    # provider's technical settings (GA §4.3: "technische specificaties"): "supplier" and "package"
    # -> DDID. A later production delivery must come with the same software (rules of the standard).
    connect_settings: dict[str, str] = field(default_factory=dict)

    @property
    def members(self) -> tuple[str, ...]:
        """The member files every delivery must contain."""
        return tuple(f.name for f in self.layout.files)

    def policy(self, name: str | None = None) -> BlockingPolicy:
        """The named blocking policy, or the standard's default."""
        key = name or self.default_policy
        if key not in self.policies:
            raise KeyError(f"standard {self.id} has no blocking policy {key!r}; it has {', '.join(self.policies)}")
        return self.policies[key]
