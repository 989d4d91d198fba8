"""Every hook disval calls, and nothing else.

Built-in behaviour is registered through these same hooks (see
`disval.core.plugins.DEFAULT_PLUGINS`); third-party plugins come from the
`disval` entry-point group. The order in which they fire during a validation:

    disval_standards            -> which standards exist
    disval_extra_rules          -> organisation rules added to the chosen standard
    disval_codelist_provider    -> where codelists come from (first result wins)
    disval_record_reader        -> how each member file is read (first result wins)
    disval_validation_started   -> a delivery is opened
    disval_records_read         -> after every batch of records
    disval_validation_finished  -> the result is complete
    disval_report_formats       -> how the result is written

and, when the gate processes a delivery, before all of these:

    disval_store                -> where providers, deliveries and imported records are kept
    disval_delivery_event       -> a delivery was received, its processing started, it was processed

and, when the gate imports a positively assessed production delivery, after them:

    disval_records_imported     -> as each file's records are written into the store

and, when `disval generate` writes a synthetic delivery:

    disval_delivery_generator   -> how deliveries of a standard are made (first result wins)

and, for `disval serve` (the portal):

    disval_serve_options        -> the options plugins add to the command (its parser is built)
    disval_serve_configure      -> plugin objects made from them, registered with the portal
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from pathlib import Path

    from .codelists import CodelistProvider
    from .findings import ValidationResult
    from .generate import DeliveryGenerator
    from .layout import FileLayout
    from .reader import RecordReader
    from .reports import ReportFormat
    from .standard import Standard
    from .store.delivery_store import Delivery, DeliveryStore

hookspec = pluggy.HookspecMarker("disval")

# ---------------------------------------------------------------- set-up: what exists


@hookspec
def disval_standards() -> list["Standard"]:
    """Return the standards (GA versions, other datasets) this plugin provides.

    Called once when the registry of standards is built. Every result is used;
    two plugins declaring the same standard id is an error.
    """


@hookspec
def disval_extra_rules(standard: "Standard") -> list["Path"]:
    """Return rule files to add to `standard`'s own rules (organisation-specific rules).

    Called when a standard's rules are compiled. Every result is used; rule
    numbers that clash with the standard's or another file's are a compile error.
    """


@hookspec(firstresult=True)
def disval_codelist_provider(standard: "Standard", location: str | None) -> "CodelistProvider | None":
    """Return the source of codelists for validating against `standard`.

    `location` is what the user gave with `--codelists` (or None). The
    provider serves lists by the GA's names, reading those in
    `standard.codelists` (`CodelistSpec`s) as declared there. firstresult:
    stops at the first non-None result; the built-in directory provider is
    `trylast`, so an installed plugin wins.
    """


@hookspec(firstresult=True)
def disval_record_reader(standard: "Standard", layout: "FileLayout") -> "RecordReader | None":
    """Return the function that reads the records of member file `layout` of `standard`.

    Called once per member file when a validation starts, before the delivery is
    opened. The reader has the contract of `disval.core.reader.read_records`: it
    streams `RecordChunk`s of fixed-width records of `layout.record_length`, so a
    reader for another file format (CSV, ...) turns its rows into such records
    and the engine works unchanged. firstresult: stops at the first non-None
    result; the built-in fixed-width reader is `trylast` and answers only for
    `standard.reader == "fixed-width"`. No reader at all is a usage error.
    The reader is iterated on a thread of its own, a batch ahead of the rules
    (`disval.core.read_ahead`): it must not rely on running on the caller's thread.
    """


@hookspec
def disval_report_formats() -> list["ReportFormat"]:
    """Return the report formats (text, json, ...) this plugin can write.

    Called when the CLI or API looks up a format by name. Every result is used;
    two formats with the same name is an error.
    """


# ---------------------------------------------------------------- validation: what happens


@hookspec
def disval_validation_started(delivery: str, standard: "Standard", expected: dict[str, int]) -> None:
    """Called when a delivery has been opened, its standard chosen and its packing slip read, before
    any record is checked. `expected` is how many records each member file should hold by the
    packing slip's own counts (files it does not count are absent; {} when unknown), so that a
    progress display can show a percentage. An implementation may leave out `expected`."""


@hookspec
def disval_records_read(file: str, records: int) -> None:
    """Called after each batch of records of `file` has been read and checked; `records` is the
    running total for that file. Meant for progress display; keep it cheap."""


@hookspec
def disval_validation_finished(result: "ValidationResult") -> None:
    """Called with the complete result, before any report is written."""


# ---------------------------------------------------------------- processing: where deliveries are kept


@hookspec(firstresult=True)
def disval_store(url: str) -> "DeliveryStore | None":
    """Return the delivery store at `url`: providers, deliveries, kept zips, imported records.

    Called when a command that processes deliveries (submit, provider, deliveries) opens its
    store; `url` is what the user gave with `--store`, else `DISVAL_STORE`, else
    `disval.core.store.delivery_store.default_store_url()`. Return None for a URL this plugin does not
    handle. firstresult: stops at the first non-None result; the built-in SQLite
    (`sqlite:///`) and PostgreSQL (`postgresql://`) stores are `trylast`, so an installed
    plugin can take over a scheme.
    """


@hookspec
def disval_records_imported(delivery: str, file: str, records: int, total: int) -> None:
    """Called while the gate imports `delivery` (its zip name) into the store: `records` of the `total`
    records of data file `file` to be written have been written. Called at least when a file starts
    (`records` 0) and when it is done (`records == total`), in the order the files are written, inside
    the import's transaction. Meant for progress display; keep it cheap."""


@hookspec
def disval_delivery_event(event: str, delivery: "Delivery", store: "DeliveryStore") -> None:
    """Called when a delivery moves through the gate; `event` says where it is:

    - "received": its zip is kept and it is queued (`disval.core.gate.receiving.receive`: a
      `disval submit`, a portal or API upload);
    - "started": processing of it begins, under its provider's lock;
    - "processed": its processing ended: `delivery` (read back from the store) is rejected,
      discarded (queued behind a rejected one), assessed negative, accepted, imported or failed.

    `delivery` is a `disval.core.store.delivery_store.Delivery`; `store` the open store, for
    reading what else the implementation needs (its provider, its reports). Every
    implementation is called, in the thread that processes the delivery: keep it quick and never
    raise (an e-mail is queued or sent with a short timeout, a failure logged). Meant for
    notifications (the portal's e-mail) and progress display.
    """


# ---------------------------------------------------------------- tooling: synthetic deliveries


@hookspec(firstresult=True)
def disval_delivery_generator(standard: "Standard") -> "DeliveryGenerator | None":
    """Return the generator of valid synthetic deliveries of `standard`, or None if this plugin has none.

    Called by `disval generate` and `disval.core.generate.generate_delivery`, once per delivery. The
    generator knows what the standard's fields mean (dates, keys, codes) and writes a zip that passes
    every rule; see `disval.core.generate.DeliveryGenerator`. firstresult: stops at the first non-None
    result; the built-in standards answer for their own id and are `trylast`, so an installed plugin wins.
    """


# ---------------------------------------------------------------- serving: the portal


@hookspec
def disval_serve_options(parser: "argparse.ArgumentParser") -> None:
    """Add this plugin's options to the `parser` of a long-running command: `disval serve`, and `disval
    worker`, which processes deliveries for the portal (best in an argument group of its own,
    `parser.add_argument_group(...)`, with option names that say whose they are).

    Called whenever the command line is built with its every command (so that a configuration file's
    keys for these options are known), not only when `serve` runs: only add options here. Every
    implementation is called.
    """


@hookspec
def disval_serve_configure(options: "argparse.Namespace") -> list[object]:
    """Return the plugin objects to register with the portal that `disval serve` is about to start, or
    with the `disval worker` about to process, made from `options` (every option of the command, this
    plugin's own and `host`, `port`, `base_url`, `store` among them; `host` and `port` are None for a
    worker, which listens nowhere); [] for none (e.g. no SMTP host was given).

    Called once, before the app is built. Each object returned is registered with the app's plugin
    manager (`create_app(plugins=...)`), so it implements hooks (`disval_delivery_event`, ...); one
    with a `close()` method has it called when the server stops. Raise
    `disval.core.errors.UsageError` for options that cannot work: `disval serve` prints its message
    and exits with 2. Every result is used.
    """
