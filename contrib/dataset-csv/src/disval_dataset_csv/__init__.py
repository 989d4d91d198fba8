"""REG-EXAMPLE 1.0: a second dataset for disval, a registry batch of CSV files.

Everything a standard needs comes from this plugin, through the same hooks
the GA OHW-GBG standard uses: the layout (`layout.toml`), the rules
(`reg_example_1_0.rules`), the zip naming and member set, the blocking
policies and a codelist (`codelists/`) via `disval_standards`; the CSV
reader via `disval_record_reader`. The dataset is made up, modelled on the
batch process a registry's manual describes; it is no registry's real one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from disval.core.layout import load_layout
from disval.core.plugins import hookimpl
from disval.core.standard import BlockingPolicy, Standard, ZipNaming

from .reader import NAME as CSV_READER
from .reader import read_csv_records

STANDARD_ID = "REG-EXAMPLE-1.0"
HERE = Path(str(resources.files(__package__)))

# REG_EXAMPLE_<CONNECT|PROD>_<AGB 8>_<YYYYMMDD>_<vv>.zip. The connect phase is
# the registry's test phase (nothing is imported). The registry has no branch
# numbers, so every batch is branch "00".
NAMING = ZipNaming(
    pattern=re.compile(
        r"REG_EXAMPLE_(?P<phase>CONNECT|PROD)_(?P<provider>\d{8})_(?P<created>\d{8})_(?P<sequence>\d{2})\.zip"
    ),
    claims=re.compile(r"REG_EXAMPLE_.*", re.IGNORECASE),
    phases={"CONNECT": "test", "PROD": "production"},
    part_types={"phase": "AN", "provider": "AN", "created": "D", "sequence": "AN", "name": "AN"},
    derived=lambda parts: {"branch": "00"},
)


@dataclass(frozen=True)
class RegistryPolicy(BlockingPolicy):
    """Blocking in the registry's three kinds: batch-blocking, record-blocking, non-blocking.

    Findings whose id starts with one of `batch_prefixes` decline the batch
    (the zip, the CSV structure, the batch-level rules REG-0xx). Other
    findings of a severity in `blocking_severities` decline it too; under the
    default policy that set is empty, so an ERR on a record only keeps that
    record out of the import.
    """

    batch_prefixes: tuple[str, ...] = ("ZIP-", "REC-", "CSV-", "REG-0")

    def blocks(self, severity: str, rule: str) -> bool:
        """Whether a finding of this severity and rule declines the whole batch."""
        return rule.startswith(self.batch_prefixes) or severity in self.blocking_severities


POLICIES = {
    "registry": RegistryPolicy(
        "registry",
        "Registry batch: batch-level errors (REG-0xx, the zip, the CSV structure) decline the batch; "
        "an ERR on a record leaves that record out of the import; WRN never blocks.",
        frozenset(),
    ),
    "strict": RegistryPolicy(
        "strict",
        "Connect phase: every ERR declines the batch, until a batch passes clean.",
        frozenset({"ERR"}),
    ),
}


@lru_cache(maxsize=1)
def standard() -> Standard:
    """The REG-EXAMPLE 1.0 standard."""
    return Standard(
        id=STANDARD_ID,
        title="REG-EXAMPLE 1.0 (example registry batch, CSV)",
        version="1.0",
        layout=load_layout(HERE / "layout.toml"),
        rule_files=(HERE / "reg_example_1_0.rules",),
        naming=NAMING,
        policies=POLICIES,
        default_policy="registry",
        codelists_dir=HERE / "codelists",
        reader=CSV_READER,
    )


@hookimpl
def disval_standards():
    """The registry batch standard."""
    return [standard()]


@hookimpl
def disval_record_reader(standard, layout):
    """The CSV reader for any standard whose `reader` is "csv"."""
    return read_csv_records if standard.reader == CSV_READER else None
