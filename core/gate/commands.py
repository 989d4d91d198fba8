"""The gate's commands: providers, submit, deliveries, revalidate, report, requeue, discard.

Every command takes `--store URL` (else DISVAL_STORE, else an SQLite file in
the user's data directory). Exit codes of `disval submit` (and `requeue`): 0
accepted (and, in production, imported), 1 rejected at receipt or assessed
negative, 2 could not run, or processing a delivery failed (status failed, the
outcome says why); a problem is one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
from pathlib import Path

from tabulate import tabulate

from . import failures, providers
from .process import DEFAULT_FORMATS, requeue, submit_many, write_stored_reports
from .revalidation import revalidate
from ..pipeline import UsageError
from ..plugins import get_plugin_manager
from ..report_view import visible
from ..reports import ReportOptions, emit, format_for_output, formats_by_name, write_output
from ..store.delivery_store import StoreError, default_store_url, open_store


def add_gate_commands(subparsers) -> None:
    """Register `provider`, `submit`, `deliveries`, `revalidate` and `report` with the `disval` parser."""
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="URL", help="sqlite:///PATH or postgresql://USER@HOST/DB "
                       "(default: $DISVAL_STORE, else an SQLite file in the user's data directory)")
    store.add_argument("--create", action="store_true",
                       help="create the SQLite store if it does not exist yet ('provider add' always may)")

    provider = subparsers.add_parser("provider", help="register and manage the providers that deliver")
    actions = provider.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser("add", parents=[store], help="register a provider (AGB code + instelling volgnr)")
    _provider_args(add)
    add.add_argument("--user", required=True, help="the NZa user name (gebruikersnaam, 3341) it delivers with")
    add.add_argument("--name", default="", help="the provider's name")
    add.set_defaults(func=_guarded(providers.provider_add, creates=True))
    listing = actions.add_parser("list", parents=[store], help="list the registered providers")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(func=_guarded(providers.provider_list))
    off = actions.add_parser("deactivate", parents=[store], help="the provider may no longer deliver")
    _provider_args(off)
    off.add_argument("--on", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                     help="the account is invalid from this day (rule 1819; default today)")
    off.set_defaults(func=_guarded(providers.provider_deactivate))
    on = actions.add_parser("activate", parents=[store], help="a deactivated provider may deliver again")
    _provider_args(on)
    on.set_defaults(func=_guarded(providers.provider_activate))
    notice = actions.add_parser("notify-software-change", parents=[store],
                                help="register a new software supplier or package (lifts rules 1812/1813)")
    _provider_args(notice)
    notice.add_argument("--supplier", help="the new software supplier (the packing-slip field the standard declares, e.g. GA OHW-GBG 3339)")
    notice.add_argument("--package", help="the new software package (e.g. GA OHW-GBG 3334)")
    notice.set_defaults(func=_guarded(providers.provider_notice))
    provider.set_defaults(func=lambda args: _usage(provider))

    sub = subparsers.add_parser("submit", parents=[store], help="deliver zips to the gate: receipt, validation, import")
    sub.add_argument("deliveries", nargs="+", type=Path, metavar="ZIP", help="delivery zips")
    sub.add_argument("--codelists", metavar="DIR", help="codelist source (default: the standard's shipped lists)")
    sub.add_argument("--policy", help="blocking policy (default: the standard's default)")
    sub.add_argument("--format", choices=("text", "json"), default="text",
                     help="how to print the outcome: a line per delivery, or one JSON object per delivery")
    sub.add_argument("--report-formats", default=",".join(DEFAULT_FORMATS), metavar="F,F",
                     help="formats of the reports kept with each delivery (default: json,text)")
    sub.add_argument("--output-dir", type=Path, help="also write the reports into this directory")
    sub.add_argument("--require-real-codelists", action=argparse.BooleanOptionalAction, default=True,
                     help="assess negative when a codelist used is a sample (default: on; "
                     "--no-require-real-codelists to try the gate with the shipped samples)")
    sub.add_argument("--queue", action="store_true",
                     help="PostgreSQL store: only receive, and queue each provider's processing for the "
                     "'disval worker's (exit 0 once queued)")
    _progress_option(sub)
    sub.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors; the exit code tells")
    sub.add_argument("-v", "--verbose", action="store_true", help="also name each report kept, and where written")
    sub.set_defaults(func=_guarded(_submit))

    history = subparsers.add_parser("deliveries", parents=[store],
                                    help="a provider's deliveries and what became of them")
    _provider_args(history)
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(func=_guarded(_deliveries))

    again = subparsers.add_parser("revalidate", parents=[store],
                                  help="validate a kept delivery again with the rules and codelists of its time")
    again.add_argument("delivery", type=int, metavar="ID", help="the delivery's id (see 'disval deliveries')")
    again.add_argument("--codelists", metavar="DIR", help="another codelist source, if the old one moved")
    again.add_argument("--format", help="report format (see 'disval plugins'); default: the one -o's name ends "
                       "with, else text")
    again.add_argument("-o", "--output", type=Path, help="write the report to this file")
    _progress_option(again)
    again.set_defaults(func=_guarded(_revalidate))

    report = subparsers.add_parser("report", parents=[store], help="list or write the reports kept with a delivery")
    report.add_argument("delivery", type=int, metavar="ID")
    report.add_argument("name", nargs="?", help="the report's file name; without it, list them")
    report.add_argument("-o", "--output", type=Path, help="write it to this file (default: stdout)")
    report.add_argument("--output-dir", type=Path, help="write every report of the delivery into this directory")
    report.set_defaults(func=_guarded(_report))

    back = subparsers.add_parser("requeue", parents=[store],
                                 help="put failed deliveries back in their provider's queue and process it")
    back.add_argument("deliveries", nargs="+", type=int, metavar="ID", help="failed deliveries' ids")
    back.add_argument("--format", choices=("text", "json"), default="text", help="how to print the outcome")
    back.set_defaults(func=_guarded(_requeue))
    drop = subparsers.add_parser("discard", parents=[store], help="give up failed deliveries for good")
    drop.add_argument("deliveries", nargs="+", type=int, metavar="ID", help="failed deliveries' ids")
    drop.set_defaults(func=_guarded(_discard))

    upkeep = subparsers.add_parser("store", help="look after the store itself")
    tasks = upkeep.add_subparsers(title="actions", metavar="ACTION")
    prune = tasks.add_parser("prune", parents=[store], help="forget the zips of providers that are not registered")
    prune.add_argument("--unregistered-older-than", dest="days", type=_days, required=True, metavar="DAYS",
                       help="deliveries of unregistered providers (or without a readable name) submitted more than "
                            "DAYS days ago, once rejected, discarded or failed")
    prune.add_argument("--dry-run", action="store_true", help="only say what would be forgotten")
    prune.set_defaults(func=_guarded(_prune))
    upkeep.set_defaults(func=lambda args: _usage(upkeep))


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return days


def _progress_option(p) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress of each validation on stderr, with percentage and time left "
                   "(default: only on a terminal)")


def _plugins(args):
    """The plugin manager of a command, with the progress display when asked (or on a terminal)."""
    from disval.plugins.progress import progress_plugins

    return get_plugin_manager(extra=progress_plugins(args.progress, sys.stderr))


def _provider_args(p) -> None:
    p.add_argument("agb", metavar="AGB", type=_digits("AGB code", 8), help="AGB code (zorgaanbiedercode), 8 digits")
    p.add_argument("branch", metavar="II", type=_digits("instelling volgnr", 2), help="instelling volgnr DIS, 2 digits")


def _digits(what: str, n: int):
    """An argument type that takes exactly `n` digits, as the zip name carries them."""
    def check(text: str) -> str:
        if len(text) != n or not text.isascii() or not text.isdigit():
            raise argparse.ArgumentTypeError(f"{what} must be {n} digits, not {text!r}")
        return text
    check.__name__ = what  # argparse names the type in its messages
    return check


def _guarded(command, creates: bool = False):
    """Open the store for `command`; a store or database problem is exit 2 with one line on stderr.

    An SQLite store that does not exist is created only by a command that
    `creates` (provider add) or with `--create`: a mistyped path is refused
    instead of silently starting an empty store.
    """
    def run(args) -> int:
        url = args.store or default_store_url()
        missing = missing_sqlite_store(url)
        if missing is not None and not (creates or args.create):
            print(f"disval: there is no store at {missing}; check --store/DISVAL_STORE, or create it with "
                  "'disval provider add' or --create", file=sys.stderr)
            return 2
        try:
            store = open_store(url)
        except Exception as exc:
            return _failed(exc)
        try:
            return command(args, store)
        except Exception as exc:
            return _failed(exc)
        finally:
            store.close()
    return run


def missing_sqlite_store(url: str) -> Path | None:
    """The path of an SQLite store URL whose file does not exist, else None (other stores: None)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or not url[len(prefix):]:
        return None
    path = Path(url[len(prefix):])
    return None if path.exists() else path


def _store_failures() -> tuple[type[BaseException], ...]:
    """StoreError, and the database drivers' own errors (a lost connection, a full disk)."""
    failures: tuple[type[BaseException], ...] = (StoreError, sqlite3.Error)
    psycopg = sys.modules.get("psycopg")  # loaded only when a PostgreSQL store was opened
    return failures + ((psycopg.Error,) if psycopg is not None else ())


def _failed(exc: Exception) -> int:
    """Exit 2 with one line for a store failure; anything else goes on to `disval`'s own handling."""
    if not isinstance(exc, _store_failures()):
        raise exc
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"disval: {message}", file=sys.stderr)
    return 2


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


# ---------------------------------------------------------------- providers


# ---------------------------------------------------------------- submit and after


def _submit(args, store) -> int:
    pm = _plugins(args)
    formats = [f.strip() for f in args.report_formats.split(",") if f.strip()]
    wake = None
    if args.queue:
        from ..workers.wakeups import job_queue_of

        wake = job_queue_of(store)  # UsageError for a store without one
    outcomes = submit_many(args.deliveries, store, pm=pm, codelists=args.codelists, policy=args.policy,
                           output_dir=args.output_dir, formats=formats,
                           require_real_codelists=args.require_real_codelists, wake=wake)
    return _print_outcomes(outcomes, args.format, quiet=args.quiet, verbose=args.verbose)


def _print_outcomes(outcomes, fmt: str, quiet: bool = False, verbose: bool = False) -> int:
    """Print what became of each delivery (nothing when `quiet`); the exit code is the worst of theirs."""
    for o in outcomes:
        if quiet:
            continue
        if fmt == "json":
            print(json.dumps(o.as_dict(), ensure_ascii=False))
            continue
        if o.status == "failed":
            verdict = (f"failed: {o.failure.summary() if o.failure else 'no error kept'}; an operator may "
                       f"'disval requeue {o.delivery}' or 'disval discard {o.delivery}'")
        elif o.status == "queued":
            verdict = ("queued for the workers ('disval deliveries --store ...' shows when it is processed)")
        elif o.receipt == "rejected":
            verdict = f"rejected at receipt: {'; '.join(f'{r.rule} {r.message}' for r in o.reasons)}"
        else:
            verdict = f"{o.status}, assessed {o.assessment}"
        imported = ", ".join(f"{n} {file}" for file, n in o.imported.items())
        # Names and reasons come from the delivery: no terminal escape of theirs reaches the terminal.
        print(visible(f"{o.name} (delivery {o.delivery}): {verdict}" + (f"; imported {imported}" if imported else "")))
        for name in o.discarded:
            print(f"  discarded with it: {visible(name)}")
        if verbose:
            written = {p.name: p for p in o.paths}
            for name in o.reports:
                print(visible(f"  report {name}" + (f" -> {written[name]}" if name in written else "")))
    for o in outcomes:
        if o.output_error:  # the outcome stands; only the copies in --output-dir are missing
            print(visible(f"disval: the reports of delivery {o.delivery} were not written ({o.output_error}); "
                          f"they are kept in the store: disval report {o.delivery} --output-dir DIR"), file=sys.stderr)
    return max(o.exit_code for o in outcomes)


def _requeue(args, store) -> int:
    return _print_outcomes(requeue(args.deliveries, store, pm=get_plugin_manager()), args.format)


def _discard(args, store) -> int:
    for i in dict.fromkeys(args.deliveries):  # all or none: refuse before changing anything
        failures.failed_delivery(store, i, "discarded")
    for i in dict.fromkeys(args.deliveries):
        d = failures.discard(store, i)
        print(f"{d.name} (delivery {d.id}): discarded; the same zip may be submitted again")
    return 0


def _prune(args, store) -> int:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=args.days)
    pruned = store.prune_unregistered(before, dry_run=args.dry_run)
    for d in pruned:
        who = f"{d.agb} {d.branch}" if d.agb else "no provider in its name"
        print(f"{'would forget' if args.dry_run else 'forgot'} delivery {d.id} ({d.name}, {who}, {d.status}, "
              f"submitted {d.submitted_at:%Y-%m-%d})")
    total = sum(d.size for d in pruned)
    print(f"{len(pruned)} deliveries, {total} bytes of zips{' (dry run)' if args.dry_run else ''}", file=sys.stderr)
    return 0


def _deliveries(args, store) -> int:
    if store.provider(args.agb, args.branch) is None and not store.deliveries(args.agb, args.branch):
        raise UsageError(f"provider {args.agb} {args.branch} is not registered and has no deliveries")
    rows = [_delivery_row(d) for d in store.deliveries(args.agb, args.branch)]
    if args.format == "json":
        print(json.dumps({"provider": {"agb": args.agb, "branch": args.branch}, "deliveries": rows},
                         ensure_ascii=False, indent=2))
        return 0
    table = [[r["id"], visible(r["name"]), r["phase"], r["status"], r["assessment"] or "",
              " ".join(f"{k}={v}" for k, v in r["findings"].items()), sum(r["imported"].values()) or "",
              _short_time(r["submitted_at"]), _short_time(r["processed_at"]), len(r["reports"])] for r in rows]
    print(tabulate(table, headers=["id", "name", "phase", "status", "assessment", "findings", "imported",
                                   "submitted", "processed", "reports"]))
    for r in rows:
        for reason in r["reasons"]:
            print(f"{r['id']}: {visible(reason)}")
        if r["failure"] and r["status"] == "failed":  # an exception's message may quote the delivery
            print(visible(f"{r['id']}: failed: {r['failure']['type']}: {r['failure']['message']}"))
            for frame in r["failure"]["where"]:
                print(f"{r['id']}:   at {frame}")
    return 0


def _delivery_row(d) -> dict:
    return {
        "id": d.id, "name": d.name, "phase": d.phase, "status": d.status, "assessment": d.assessment,
        "reasons": d.reasons, "records": d.counts.get("records", {}), "findings": d.counts.get("findings", {}),
        "imported": d.imported, "submitted_at": d.submitted_at.isoformat(),
        "started_at": d.started_at.isoformat() if d.started_at else None,
        "processed_at": d.processed_at.isoformat() if d.processed_at else None,
        "sha256": d.sha256, "reports": d.reports,
        "failure": d.failure and {"type": d.failure.type, "message": d.failure.message,
                                  "where": d.failure.where.splitlines()},
        "attempts": d.attempts,
    }


def _short_time(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else ""


def _revalidate(args, store) -> int:
    pm = _plugins(args)
    available = formats_by_name(pm)
    name = format_for_output(args.format, args.output, available)
    fmt = available.get(name)
    if fmt is None:
        raise UsageError(f"unknown report format {name!r}; available: {', '.join(sorted(available))}")
    result = revalidate(args.delivery, store, pm=pm, codelists=args.codelists)
    emit(fmt, result, ReportOptions(), args.output)
    then = store.delivery(args.delivery).assessment
    print(f"delivery {args.delivery}: assessed {then or 'not at all'} then, {result.assessment} now", file=sys.stderr)
    return 0 if result.assessment == "positive" else 1


def _report(args, store) -> int:
    d = store.delivery(args.delivery)
    if d is None:
        raise UsageError(f"there is no delivery {args.delivery}")
    if d.failure is not None and args.name is None:  # on stderr: stdout stays the list of report names
        print(visible(f"delivery {d.id} ({d.name}) is {d.status}; its processing failed: {d.failure.type}: "
                      f"{d.failure.message}"), file=sys.stderr)
        for frame in d.failure.where.splitlines():
            print(f"  at {frame}", file=sys.stderr)
    if args.output_dir:
        for path in write_stored_reports(store, d.reports, args.output_dir):
            print(path)
        return 0
    if args.name is None:
        for name in d.reports:
            print(name)
        return 0
    if args.name not in d.reports:
        raise UsageError(f"delivery {d.id} has no report {args.name!r}; it has {', '.join(d.reports) or 'none'}")
    data = store.read_blob(d.reports[args.name])
    if args.output:
        write_output(args.output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0

