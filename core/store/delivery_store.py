"""The delivery store: the receiving side's memory (GA §4.3, the production phase).

Providers and their NZa accounts, every submitted zip with what became of it,
the technical settings fixed in the connect phase, and the records imported
from each provider's positively assessed production deliveries, in typed
tables made from each standard's layout.

This module is the interface and its values: `DeliveryStore`, the records it
hands out (`Provider`, `Delivery`, ...); how a store is found and opened
(`open_store(url)`, through the `disval_store` hook) is `opening`, whose
functions are imported here too. The one SQL
implementation that SQLite and PostgreSQL share is `disval.core.store.sql`
(`SqlStore`), its versioned schema `disval.core.store.schema`; a backend
(`disval.plugins.stores.sqlite`, `...postgresql`) only supplies a connection,
a `Dialect` and a per-provider lock.
"""
from __future__ import annotations

import datetime as dt
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from ..history import History
    from ..standard import Standard, ZipName
    from .importing import ColumnBatch, FileCounts, Finish, Progress
    from .live import LiveState
    from .staging import Stage

# queued: kept, receipt not yet decided. accepted: passed receipt and not assessed negative (a TEST
# delivery ends here when positive; a production one until it is imported). rejected: failed receipt.
# discarded: queued behind a delivery that was rejected at receipt (GA §4.3.2), or by an operator.
# imported: its records are in the store (full load or mutations). failed: processing raised; the error is kept, an operator requeues or discards it.
STATUSES = ("queued", "accepted", "rejected", "discarded", "imported", "assessed_negative", "failed")
RECEIVED = ("accepted", "imported", "assessed_negative")  # passed receipt: what later ones must follow
ACCEPTED = ("accepted", "imported")  # passed receipt and assessed positive (or not yet assessed)
ASSESSMENTS = ("positive", "negative")


class StoreError(RuntimeError):
    """A store that cannot be opened or used as asked; the message says what to do."""


def say_waiting(message: str) -> None:
    """Tell the user that a command waits, and for whom (on stderr: stdout carries the command's answer)."""
    print(f"disval: {message}", file=sys.stderr, flush=True)


def disval_version() -> str:
    """The installed disval's version, as recorded with schema upgrades and deliveries."""
    try:
        return metadata.version("disval")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Provider:
    """A registered provider: AGB code + instelling volgnr DIS, with its NZa account (3341)."""

    agb: str
    branch: str
    username: str  # gebruikersnaam NZa: the account that may deliver for this AGB + volgnr (rule 1819)
    name: str
    active: bool  # may deliver now (receipt: "klant is niet meer actief")
    created_at: dt.datetime
    deactivated_at: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        """Whether the account is valid on `day`: not deactivated on or before it."""
        return self.deactivated_at is None or day < self.deactivated_at


@dataclass(frozen=True)
class ProviderSettings:
    """The technical settings the first positive connect delivery fixed (standard, software)."""

    standard: str
    supplier: str | None  # softwareleverancier (the field is the standard's connect_settings["supplier"])
    package: str | None  # softwarepakket (connect_settings["package"])
    delivery_id: int | None
    fixed_at: dt.datetime


@dataclass(frozen=True)
class SoftwareNotice:
    """A provider told the NZa it changes software (lifts rules 1812/1813 for the next delivery)."""

    agb: str
    branch: str
    supplier: str | None
    package: str | None
    noticed_at: dt.datetime


@dataclass(frozen=True)
class Failure:
    """Why processing a delivery raised: the exception's type and message, and where (a short traceback)."""

    type: str  # e.g. "ValueError", "zipfile.BadZipFile"
    message: str
    where: str  # the innermost frames, one "file:line in function" per line, innermost last

    def summary(self) -> str:
        """One line: type, message and the innermost frame."""
        last = self.where.splitlines()[-1].strip() if self.where else ""
        return f"{self.type}: {self.message}" + (f" (at {last})" if last else "")


@dataclass(frozen=True)
class Delivery:
    """One submitted zip and what became of it."""

    id: int
    name: str
    sha256: str
    size: int
    agb: str | None  # from the zip name; None when the name could not be read
    branch: str | None
    phase: str | None  # test | production
    created: dt.date | None  # creatiedatum from the name
    sequence: str | None  # volgnummer from the name
    standard: str | None
    status: str
    reasons: list[str]  # receipt: the zip-level ids or messages it was rejected or discarded for
    assessment: str | None  # positive | negative
    counts: dict[str, Any]  # whatever the pipeline reports per file (processed, rejected, ...)
    imported: dict[str, int]  # records imported per file, written by the import itself
    packing_slip: dict[str, str]  # pakbon DDID -> value, for rules 1812/1813 of later deliveries
    reports: dict[str, str]  # report file name -> sha256 of the report, kept as a blob
    disval: str  # the disval version that received it
    submitted_at: dt.datetime
    processed_at: dt.datetime | None
    started_at: dt.datetime | None = None  # processing began (under the provider's lock)
    # How it was asked to be validated ("request": codelists, policy, report formats) and what it
    # was validated with ("rules": the rules files kept as blobs, "codelists": the releases used).
    validation: dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None  # why its processing raised (status failed; kept when discarded)
    attempts: int = 0  # how often its processing began: more than once means a process died at it

    @property
    def order(self) -> tuple[dt.date | None, str | None]:
        """Processing order within a provider: creation date, then sequence number (GA §4.3.1)."""
        return (self.created, self.sequence)


# ---------------------------------------------------------------- the interface


class DeliveryStore(ABC):
    """What the `disval_store` hook returns. Providers are addressed by AGB code + volgnr.

    A store object belongs to one thread; open one per process or thread.
    """

    url: str  # where it is, without a password

    # providers

    @abstractmethod
    def add_provider(self, agb: str, branch: str, username: str, name: str = "") -> Provider:
        """Register a provider and its account; StoreError if AGB + volgnr is already registered."""

    @abstractmethod
    def provider(self, agb: str, branch: str) -> Provider | None:
        """The registered provider, or None."""

    @abstractmethod
    def providers(self) -> list[Provider]:
        """Every registered provider, by AGB code and volgnr."""

    @abstractmethod
    def deactivate_provider(self, agb: str, branch: str, on: dt.date | None = None) -> Provider:
        """Make the provider inactive; its account is invalid from `on` (default today) for rule 1819."""

    @abstractmethod
    def activate_provider(self, agb: str, branch: str) -> Provider:
        """Make a deactivated provider active again, with no end date."""

    @abstractmethod
    def notify_software_change(
        self, agb: str, branch: str, supplier: str | None = None, package: str | None = None,
        at: dt.datetime | None = None,
    ) -> SoftwareNotice:
        """Register that the provider changes software supplier or package (rules 1812/1813)."""

    @abstractmethod
    def software_notices(self, agb: str, branch: str) -> list[SoftwareNotice]:
        """The provider's software-change notices, oldest first."""

    @abstractmethod
    def provider_settings(self, agb: str, branch: str) -> ProviderSettings | None:
        """The settings fixed by the provider's first positive connect delivery; None: still connecting."""

    @abstractmethod
    def fix_provider_settings(
        self, agb: str, branch: str, standard: str, supplier: str | None, package: str | None,
        delivery_id: int | None = None,
    ) -> ProviderSettings:
        """Fix (or, after a new connect phase, replace) the provider's technical settings."""

    # deliveries

    @abstractmethod
    def add_delivery(
        self, name: str, content: bytes | Path, zip_name: "ZipName | None" = None, *,
        standard: str | None = None, status: str = "queued", reasons: Iterable[str] = (),
        at: dt.datetime | None = None, validation: dict[str, Any] | None = None,
    ) -> Delivery:
        """Keep a submitted zip and its delivery record in one transaction.

        `content` is the zip (bytes or a path); it is stored under its sha256.
        `zip_name` is the parsed name (None when it does not parse): provider,
        phase, creation date and sequence come from it. `validation` is kept
        with it (see `Delivery.validation`).
        """

    @abstractmethod
    def delivery(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id, or None."""

    @abstractmethod
    def deliveries(self, agb: str, branch: str, statuses: Iterable[str] | None = None) -> list[Delivery]:
        """The provider's deliveries (optionally only those in `statuses`) in processing order."""

    @abstractmethod
    def already_delivered(
        self, name: str, sha256: str, exclude: int | None = None, *, received: bool = False
    ) -> Delivery | None:
        """The earliest delivery with the same zip name or the same content, other than `exclude`.

        Deliveries rejected at receipt or discarded do not count: they were not
        processed and may be offered again once the problem is solved (GA §4.3.2).
        With `received`, neither do queued or failed ones: only deliveries that passed receipt.
        """

    @abstractmethod
    def last_accepted(
        self, agb: str, branch: str, *, phase: str | None = None, before: int | None = None
    ) -> Delivery | None:
        """The provider's last delivery that passed receipt, by creation date then sequence number.

        Receipt criterion: a new delivery must come after it (GA §4.3.2). Counts
        accepted, imported and negatively assessed deliveries; with `phase`, only
        that phase; with `before` (a delivery id), only those ordered before it.
        """

    @abstractmethod
    def update_delivery(self, delivery_id: int, **changes: Any) -> Delivery:
        """Record a delivery's outcome: any of status, reasons, assessment, counts, packing_slip,
        reports, standard, validation, started_at, processed_at, attempts, failure (a `Failure`, or
        None to clear it). Status `imported` is only ever set
        by `import_delivery`."""

    @abstractmethod
    def discard_after(self, delivery_id: int, reason: str) -> list[Delivery]:
        """Discard the provider's queued deliveries ordered after this one, which was rejected at
        receipt (GA §4.3.2: "alle volgende al aangeleverde bestanden"). Returns the discarded ones."""

    @abstractmethod
    def prune_unregistered(self, before: dt.datetime, dry_run: bool = False) -> list[Delivery]:
        """Forget the deliveries submitted before `before` whose provider is not registered (or whose
        name names none) and that are done with (rejected, discarded, failed): their rows, and the
        zips and reports no other delivery shares. Returns them; with `dry_run`, changes nothing."""

    @abstractmethod
    def put_blob(self, content: bytes | Path) -> str:
        """Keep `content` (bytes or a file) by its content hash, once; returns the sha256.

        Zips are kept by `add_delivery`; this keeps what belongs with them: reports, rules files.
        """

    @abstractmethod
    def read_blob(self, sha256: str) -> bytes:
        """The kept zip (or report, rules file) with this content hash."""

    @abstractmethod
    def save_blob(self, sha256: str, dest: Path) -> Path:
        """Write the kept zip with this content hash to `dest`, part by part."""

    # imported data and history

    def stage(self, standard: "Standard", agb: str | None = None, branch: str | None = None,
              delivery_id: int | None = None) -> "Stage | None":
        """A place to put a delivery's records while it is validated, so that its import need not read
        the zip again: an object with `add(file, {DDID: typed values}, line numbers)` and `drop()`,
        passed to `import_delivery` as its `batches` once filled. None (the default): this store takes
        the records at import time only, from `batches`. Given the provider (`agb`, `branch`) and the
        delivery being validated, a store may write a first delivery's records into its tables at
        once, uncommitted until `import_delivery` (`drop` undoes them)."""
        return None

    @abstractmethod
    def import_delivery(
        self, delivery_id: int, standard: "Standard", batches: "Iterable[ColumnBatch] | Stage",
        finish: "Finish | None" = None, progress: "Progress | None" = None,
    ) -> dict[str, "FileCounts"]:
        """Import an accepted production delivery into `standard`'s typed tables, in its import mode.

        `batches` yields (file, {DDID: typed values}, line numbers): the records
        column by column (`disval.core.store.typed_columns`); or it is the stage
        `stage(standard)` returned, filled. `progress(file, written, total)`, if
        given, is called as each file's records are written. Full load: the records
        replace all of the provider's; mutations: status vlag ' ' inserts or
        replaces, 'V' deletes, a delivered parent replaces its children (see
        `disval.core.store.importing`). One transaction: the records, the
        delivery's status `imported` and whatever `finish(counts)` returns
        (its reports) change together or not at all, even if the process is
        killed. Returns per file the records delivered, inserted, changed,
        unchanged and deleted.
        """

    def prepare(self, standard: "Standard") -> None:
        """Make the store ready to import and answer history for `standard`: create or migrate its
        tables, move records an older schema kept elsewhere. Called when a store is opened and before a
        delivery is validated; cheap when there is nothing to do. A store without tables does nothing."""

    @abstractmethod
    def records(self, agb: str, branch: str, file: str | None = None) -> Iterator[tuple[str, str, dict]]:
        """The provider's imported records as (file, record key, {DDID: typed value}), by file and key.

        The key is the file's key (its values joined by '|' when it has several).
        """

    @abstractmethod
    def history(self, agb: str, branch: str, before: int | None = None, standard: str | None = None) -> "History":
        """What the store knows of this provider, for the history rules (`disval.core.history`).

        With `before` (the id of the delivery being validated), "previous" means
        ordered before that delivery, which itself never counts. With
        `standard` (an id), stored records are looked up in that standard's tables only.
        """

    def begin_run(self, delivery: Delivery) -> Any:
        """Record that this process begins processing `delivery` (committed at once); a handle for
        `end_run`. A store that keeps no record of processing runs returns None."""
        return None

    def end_run(self, run: Any, status: str | None) -> None:
        """Record that the run `begin_run` returned ended, leaving its delivery in `status`."""

    @abstractmethod
    def lock_provider(self, agb: str, branch: str) -> ContextManager[None]:
        """Hold the provider's processing lock: one delivery per provider at a time, across
        processes (GA §4.3.1); other providers are not blocked. Not re-entrant."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version of the open store."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def live(self) -> "LiveState | None":
        """What every process on this store shares by the second (delivery progress, failed sign-ins),
        on a connection of its own (`disval.core.store.live`); None for a store that keeps none, whose
        portal then shows no progress figures and counts sign-ins per process."""
        return None

    def __enter__(self) -> "DeliveryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- opening a store (core/store/opening.py)

from .opening import default_store_url, open_store, redact_url  # noqa: E402,F401  (imported from here too)
