"""The delivery gate: the receiving side's processing of deliveries (GA §4.3, the production phase).

    receive: keep the zip (queued) -> drain: under the provider's lock, every queued
    delivery of that provider in order of creation date, then sequence number:
    receipt criteria -> [production: technical settings] -> validate with the
    store's history -> reports -> TEST: done; PROD positive: import (the
    standard's mode: full load or mutations) with its import and quality
    reports, in one transaction

`submit` is `receive` (`disval.core.gate.receiving`) then `drain`; the portal
receives in the request and drains in its worker. A delivery is enqueued first
and processed under `store.lock_provider`, by
whichever process holds the lock: two `submit`s for one provider serialise,
and a delivery created earlier that is queued is processed before a later
one, whoever submitted it. What a delivery should be validated and reported
with (codelists, policy, report formats) is kept with it for that reason.

Statuses: queued -> rejected (receipt) | discarded (queued behind a rejected
one) | assessed_negative | accepted (TEST positive; PROD positive until its
import is done) -> imported; and failed, from any of them but imported, when
processing raised (`disval.core.gate.failures`: the error is kept, the provider's
queue goes on, an operator requeues or discards it). A PROD delivery left
`accepted` by a process that died during its import is imported by the next
one to take the provider's lock, before anything queued behind it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import __version__
from . import failures, receipt
from ..store.delivery_records import DeliveryRecords
from ..findings import ZIP_LEVEL, Finding, ValidationResult
from ..pipeline import UsageError, rule_files, rulebook, standards, validate
from ..plugins import get_plugin_manager
from .kept_reports import Reports, write_stored_reports  # noqa: F401 (imported from here too)
from .processing_reports import ImportReport, quality_view
from .receiving import DEFAULT_FORMATS, DEFAULT_MAX_EXAMPLES, check_request, receive
from ..reader import zip_finding
from ..store.delivery_store import Delivery, DeliveryStore, Failure
from ..workdir import fitting_name, pause_point, working_directory



@dataclass
class SubmitOutcome:
    """What became of one submitted delivery: the answer `disval submit` gives."""

    delivery: int
    name: str
    agb: str | None
    branch: str | None
    phase: str | None  # test | production; None when the name could not be read
    status: str  # the store's: accepted, imported, assessed_negative, rejected, discarded, failed; queued (--queue)
    receipt: str | None  # accepted | rejected; None when processing failed before the receipt was decided
    reasons: list[Finding]  # why it was rejected at receipt (zip-level ids, or the packing slip's rules)
    assessment: str | None  # positive | negative; None when rejected at receipt before validation
    imported: dict[str, int] = field(default_factory=dict)  # records imported per file
    discarded: list[str] = field(default_factory=list)  # later deliveries discarded because of this one
    reports: dict[str, str] = field(default_factory=dict)  # report file name -> sha256 in the store
    paths: list[Path] = field(default_factory=list)  # the reports written to output_dir
    failure: Failure | None = None  # why processing raised (status failed)
    output_error: str | None = None  # why the reports could not be written to output_dir (they are kept)

    @property
    def exit_code(self) -> int:
        """0 accepted (and, in production, imported), 1 rejected at receipt or assessed negative,
        2 processing failed (status failed: not the provider's doing as far as anyone knows)."""
        if self.status == "failed":
            return 2
        if self.status == "queued":  # received and left to the workers (`disval submit --queue`)
            return 0
        done = "imported" if self.phase == "production" else "accepted"
        return 0 if self.receipt == "accepted" and self.assessment == "positive" and self.status == done else 1

    def as_dict(self) -> dict:
        """The outcome as `disval submit --format json` prints it."""
        written = dict(zip(self.reports, map(str, self.paths)))  # in order; a long name was shortened
        return {
            "delivery": {"id": self.delivery, "name": self.name, "status": self.status},
            "provider": {"agb": self.agb, "branch": self.branch},
            "phase": self.phase,
            "receipt": {"status": self.receipt,
                        "reasons": [{"rule": f.rule, "message": f.message} for f in self.reasons]},
            "assessment": self.assessment,
            "imported": self.imported,
            "discarded": self.discarded,
            "reports": {name: {"sha256": sha, "path": written.get(name),
                               **({"error": self.output_error} if self.output_error else {})}
                        for name, sha in self.reports.items()},
            "failure": self.failure and {"type": self.failure.type, "message": self.failure.message,
                                         "where": self.failure.where.splitlines()},
        }


def submit(zip_path, store: DeliveryStore, *, pm=None, codelists: str | None = None, policy: str | None = None,
           output_dir=None, formats: Iterable[str] = DEFAULT_FORMATS,
           max_examples: int | None = DEFAULT_MAX_EXAMPLES, require_real_codelists: bool = False) -> SubmitOutcome:
    """Submit one delivery zip: keep it, process its provider's queue in order, say what became of it."""
    return submit_many([zip_path], store, pm=pm, codelists=codelists, policy=policy, output_dir=output_dir,
                       formats=formats, max_examples=max_examples, require_real_codelists=require_real_codelists)[0]


def submit_many(zip_paths, store: DeliveryStore, *, pm=None, codelists: str | None = None,
                policy: str | None = None, output_dir=None, formats: Iterable[str] = DEFAULT_FORMATS,
                max_examples: int | None = DEFAULT_MAX_EXAMPLES,
                require_real_codelists: bool = False, wake=None) -> list[SubmitOutcome]:
    """Submit several zips: all are enqueued first, so that they too are processed in order.

    `require_real_codelists`: a delivery validated against a sample codelist is assessed
    negative (the `disval submit` command asks this by default). `wake(store, agb, branch)`:
    receive only, waking each provider's drain in the receipt's transaction (the job queue's
    `defer_drain`), and answer `queued`; workers process them. A zip whose name names no provider
    has no queue to wait in: its receipt (a rejection) is decided here at once.

    Raises UsageError, before anything is kept, for a missing file or a request
    that cannot be carried out (unknown policy, report format or codelist source).
    """
    pm = pm or get_plugin_manager()
    paths = [Path(p) for p in zip_paths]
    request = check_request(pm, paths, codelists, policy, list(formats), max_examples)
    request["require_real_codelists"] = bool(require_real_codelists)
    if wake is not None:
        if output_dir is not None:
            raise UsageError("the reports of a queued delivery do not exist yet: leave out --output-dir, and "
                             "write them once it is processed with 'disval report DELIVERY --output-dir DIR'")
        return _queue(paths, store, pm, request, wake)
    queued = [receive(p, store, pm=pm, request=request) for p in paths]
    gate = Gate(store, pm, received_from={d.id: p for d, p in zip(queued, paths)})
    outcomes = gate.run(queued)
    if output_dir is not None:
        for o in outcomes:
            try:
                o.paths = write_stored_reports(store, o.reports, Path(output_dir))
            except OSError as exc:  # a full disk: the delivery was processed all the same, and its reports kept
                o.output_error = f"{exc.strerror or exc}: {exc.filename or output_dir}"
    return outcomes


def _queue(paths: list[Path], store: DeliveryStore, pm, request: dict, wake) -> list[SubmitOutcome]:
    """Receive every zip and wake its provider's drain; the outcomes say `queued` (or the rejection)."""
    received = [receive(p, store, pm=pm, request=request, wake=wake) for p in paths]
    gate = Gate(store, pm)
    for d in received:
        if d.agb is None:
            gate.process(d)
    return [outcome(store, store.delivery(d.id), queued_ok=True) for d in received]


def drain(store: DeliveryStore, agb: str, branch: str, *, pm=None) -> None:
    """Process every queued delivery of one provider, in GA order, under the provider's lock.

    Also finishes an import that a killed process left undone. Blocks while another process
    holds the provider's lock. Deliveries that became queued meanwhile are processed too.
    This is what a worker calls (the portal's, a job queue's) after `receive`.
    """
    gate = Gate(store, pm or get_plugin_manager())
    with store.lock_provider(agb, branch):
        gate.drain(agb, branch)


class Gate:
    """Processes deliveries from one store; the caller holds the provider's lock. `received_from`: the
    files this process received deliveries from (delivery id -> path), to take their working copies
    from instead of reading the kept zips back from the store (`_working_copy`)."""

    def __init__(self, store: DeliveryStore, pm, received_from: dict[int, Path] | None = None):
        self.store, self.pm = store, pm
        self.received_from = received_from or {}

    def run(self, queued: list[Delivery]) -> list[SubmitOutcome]:
        """Process the queues of these queued deliveries' providers, each under its lock; their outcomes."""
        for d in queued:
            if d.agb is None:
                self.process(d)  # no provider to queue under: only the receipt can be decided
        for agb, branch in dict.fromkeys((d.agb, d.branch) for d in queued if d.agb is not None):
            with self.store.lock_provider(agb, branch):
                self.drain(agb, branch)
        return [outcome(self.store, self.store.delivery(d.id)) for d in queued]

    def drain(self, agb: str, branch: str) -> None:
        """Finish an import a killed process left undone, then process every queued delivery in order."""
        for d in self.store.deliveries(agb, branch, statuses=("accepted",)):
            if d.phase == "production" and d.assessment == "positive" and d.processed_at is None:
                self._attempt(d, resume=True)
        while True:
            waiting = self.store.deliveries(agb, branch, statuses=("queued",))
            if not waiting:
                return
            self.process(waiting[0])

    def process(self, d: Delivery) -> None:
        """Decide one queued delivery: receipt, phase, validation, import; or end it `failed`."""
        self._attempt(d, resume=False)

    def _attempt(self, d: Delivery, resume: bool) -> None:
        self.pm.hook.disval_delivery_event(event="started", delivery=d, store=self.store)
        run = self.store.begin_run(d)  # committed now: a process killed in it leaves a run without an end
        # Whatever a delivery makes processing raise ends that delivery, not its provider's queue.
        try:
            self._work(d, resume)
        except Exception as exc:
            failures.fail(self.store, d, exc)
        done = self.store.delivery(d.id)
        self.store.end_run(run, done and done.status)
        self._processed(done)

    def _processed(self, d: Delivery | None) -> None:
        if d is not None:
            self.pm.hook.disval_delivery_event(event="processed", delivery=d, store=self.store)

    def _work(self, d: Delivery, resume: bool) -> None:
        failures.check_attempts(d)
        self.store.update_delivery(d.id, started_at=_now(), attempts=d.attempts + 1)
        if d.standard is None:  # no installed standard claims its name: a bad name like any other
            return self._reject(d, [zip_finding("ZIP-NAME", value=d.name, detail="no installed standard claims it")])
        std = _standard(self.pm, d)
        with working_directory("gate") as tmp:  # not left behind with its koppelnummers if we are killed
            path = self._working_copy(d, tmp / fitting_name(d.name))
            pause_point("gate-working-copy")  # tests kill the process here (a no-op otherwise)
            if not resume:
                reasons = receipt.before_validation(self.store, d, path, std)
                if reasons:
                    return self._reject(d, reasons)
                declined = receipt.contract(self.store, d, std) if d.phase == "production" else []
                if declined:
                    return self._reject(d, declined, discard=False)
            self._assess(d, std, path)

    def _working_copy(self, d: Delivery, dest: Path) -> Path:
        """The delivery's zip at `dest`: copied from the file this process received it from while that
        still holds the bytes kept (same sha256), else saved from the store. Reading a large zip back
        from a database costs more than copying and hashing the file it was kept from."""
        source = self.received_from.get(d.id)
        if source is not None:
            digest = hashlib.sha256()
            try:
                with open(source, "rb") as src, dest.open("wb") as out:
                    while part := src.read(1 << 20):
                        digest.update(part)
                        out.write(part)
            except OSError:  # gone or unreadable since it was received: the store has it
                pass
            else:
                if digest.hexdigest() == d.sha256:
                    return dest
        return self.store.save_blob(d.sha256, dest)

    def _assess(self, d: Delivery, std, path: Path) -> None:
        self.store.prepare(std)  # its tables exist before the history rules read them
        records = DeliveryRecords(path, std, self.pm)
        # A production delivery's records are staged as the validation reads them: the zip is read once.
        # A provider's first delivery goes straight into the tables, in a transaction the stage keeps
        # open until the import commits it (see `Stage.fresh`).
        stage = self.store.stage(std, d.agb, d.branch, d.id) if d.phase == "production" else None
        try:
            self._validate(d, std, path, records, stage)
        finally:
            if stage is not None:
                stage.drop()

    def _validate(self, d: Delivery, std, path: Path, records: DeliveryRecords, stage) -> None:
        request = d.validation.get("request", {})
        files = rule_files(self.pm, std)
        staged = {} if stage is None else {"stage": stage}
        result = validate(
            path, pm=self.pm, standard=std.id, codelists=request.get("codelists"), policy=request.get("policy"),
            max_per_rule=request.get("max_examples", DEFAULT_MAX_EXAMPLES),
            history=self.store.history(d.agb, d.branch, before=d.id, standard=std.id, **staged), rule_files=files,
            require_real_codelists=request.get("require_real_codelists", False),
            records_sink=records.sink(stage) if stage is not None else None,
        )
        slip = records.packing_slip()
        late = receipt.technical(result.findings) + receipt.packing_slip(result.findings, rulebook(
            self.pm, std, files=files))
        if stage is not None and (late or result.assessment == "negative"):
            stage.drop()  # not imported: the records a fresh stage wrote go before the outcome is kept
        reports = Reports(self.store, self.pm, request)
        reports.add(result)
        kept = dict(
            packing_slip=slip, reports=reports.kept,
            counts={"records": result.records, "findings": result.severity_counts()},
            validation={**d.validation, **self._validated_with(files, result)},
        )
        if late:
            self.store.update_delivery(d.id, **kept)
            return self._reject(d, late)
        if result.assessment == "negative":
            self.store.update_delivery(d.id, status="assessed_negative", assessment="negative", processed_at=_now(),
                                       **kept)
            return
        if d.phase != "production":  # connect phase: validated and reported, never imported
            self.store.update_delivery(d.id, status="accepted", assessment="positive", processed_at=_now(), **kept)
            self._fix_settings(d, std, slip)
            return
        self.store.update_delivery(d.id, status="accepted", assessment="positive", processed_at=None, **kept)
        self._import(d, std, records, result, reports, stage)

    def _import(self, d: Delivery, std, records: DeliveryRecords, result: ValidationResult, reports, stage) -> None:
        """Import in the standard's mode; the import and quality reports are kept in the same transaction."""
        def finish(counts) -> dict:
            reports.add(ImportReport(
                delivery=d.name, provider=f"{d.agb} {d.branch}", files=records.file_imports(counts),
                timestamp=_now(), standard=result.standard, phase=d.phase, versions=result.versions,
                codelists=result.codelists, warnings=result.warnings,
            ))
            reports.add(quality_view(result, std.policy(result.policy)))
            return {"reports": reports.kept}

        def progress(file: str, written: int, total: int) -> None:
            self.pm.hook.disval_records_imported(delivery=d.name, file=file, records=written, total=total)

        self.store.import_delivery(d.id, std, records.batches() if stage is None else stage, finish=finish,
                                   progress=progress)

    def _reject(self, d: Delivery, reasons: list[Finding], discard: bool = True) -> None:
        """Rejected at receipt; GA §4.3.2: the provider's later deliveries already queued go with it."""
        if discard:
            why = f"ZIP-DISCARDED: {ZIP_LEVEL['ZIP-DISCARDED']} ({d.name} was rejected at receipt)"
            discarded = self.store.discard_after(d.id, why)
        else:
            discarded = []
        self.store.update_delivery(d.id, status="rejected", reasons=[receipt.as_reason(f) for f in reasons],
                                   processed_at=_now())
        for later in discarded:  # their processing ended too, because of this one
            self._processed(later)

    def _fix_settings(self, d: Delivery, std, slip: dict[str, str]) -> None:
        """The first positive connect delivery (of a standard's release) fixes the provider's settings."""
        settings = self.store.provider_settings(d.agb, d.branch)
        if settings is None or settings.standard != std.id:
            fixed = std.connect_settings  # which packing-slip fields: the standard says
            self.store.fix_provider_settings(d.agb, d.branch, std.id, slip.get(fixed.get("supplier", "")),
                                             slip.get(fixed.get("package", "")), delivery_id=d.id)

    def _validated_with(self, files, result: ValidationResult) -> dict:
        """The rules files (kept as blobs) and codelist releases, to re-validate with later."""
        return {
            "rules": [{"file": f.name, "sha256": self.store.put_blob(Path(f))} for f in files],
            "codelists": [{"name": c.name, "release": c.release.isoformat() if c.release else None,
                           "source": c.source} for c in result.codelists],
            "policy": result.policy, "disval": __version__, "date": result.versions.get("date"),
        }



def outcome(store: DeliveryStore, d: Delivery, queued_ok: bool = False) -> SubmitOutcome:
    """What became of a delivery, from the store alone (whichever process processed it).

    A delivery still queued is an error (its processing did not finish) unless `queued_ok`.
    """
    if d.status == "queued" and not queued_ok:
        raise UsageError(f"delivery {d.id} ({d.name}) is still queued: its processing did not finish")
    discarded = []
    if d.status == "rejected" and d.agb is not None:
        discarded = [x.name for x in store.deliveries(d.agb, d.branch, statuses=("discarded",))
                     if any(r.startswith("ZIP-DISCARDED") and f"({d.name} " in r for r in x.reasons)]
    return SubmitOutcome(
        delivery=d.id, name=d.name, agb=d.agb, branch=d.branch, phase=d.phase, status=d.status,
        receipt=_receipt(d), reasons=[receipt.from_reason(r) for r in d.reasons], assessment=d.assessment,
        imported=dict(d.imported), discarded=discarded, reports=dict(d.reports), failure=d.failure,
    )


def _receipt(d: Delivery) -> str | None:
    if d.status == "queued":
        return None  # not decided yet
    if d.status in ("rejected", "discarded"):
        return "rejected"
    if d.status == "failed" and d.assessment is None:
        return None  # it failed before it was assessed: the receipt may not have been decided
    return "accepted"


def requeue(delivery_ids: Iterable[int], store: DeliveryStore, *, pm=None) -> list[SubmitOutcome]:
    """Put failed deliveries back in their providers' queues and process those queues, in the GA's order."""
    pm = pm or get_plugin_manager()
    ids = list(dict.fromkeys(delivery_ids))
    for i in ids:  # all or none: refuse before changing anything
        failures.failed_delivery(store, i, "requeued")
    queued = [failures.requeue(store, i) for i in ids]
    return Gate(store, pm).run(queued)


def _standard(pm, d: Delivery):
    """The standard a kept delivery was received under."""
    known = standards(pm)
    if d.standard not in known:
        raise UsageError(f"delivery {d.id} ({d.name}) follows {d.standard}, which no installed plugin declares")
    return known[d.standard]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
