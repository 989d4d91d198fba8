"""The `disval` command line.

Exit codes of `disval validate`: 0 positive assessment, 1 negative, 2 could not
run (usage error, missing file, broken rules or codelists). A user's mistake
is one clear line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from tabulate import tabulate

from . import __version__
from .language.compiler import ACTIVE
from .language.rule_error import RuleError
from .pipeline import ENGINES, UsageError, choose_standard, rulebook, standards, validate
from .cli_config import apply_config, find_config, load_config
from .completion import SHELLS, completion_script
from .plugins import get_plugin_manager
from .reports import ReportOptions, default_stem, emit, format_for_output, formats_by_name, write_reports
from .workdir import NAME_MAX, fitting_name, readable_name, working_directory

DEFAULT_MAX_FINDINGS = 1000


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        config = _config_path(argv)
        # `disval validate` without a configuration file needs no other command's parser: those
        # import the gate, the store and the workbook reader, and ask every standard for its
        # generator (a quarter of the start of a small validation). A configuration file is checked
        # against every command's options, so with one they are all built.
        parser = _parser(others=config is not None or _command_of(sys.argv[1:] if argv is None else argv)
                         not in _LEAN_COMMANDS)
        if config is not None:
            apply_config(parser, load_config(config), config)
    except UsageError as exc:
        print(f"disval: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:
        # stdout was closed by its reader (`disval rules | head`): not an error worth a word, and no traceback
        # when Python flushes stdout at exit. 141 is what a shell reports for a command ended by SIGPIPE.
        # (Caught before OSError, of which it is one.)
        _quiet_stdout()
        return 141
    except (UsageError, RuleError, ValueError, OSError) as exc:
        message = exc.render() if isinstance(exc, RuleError) else str(exc)
        print(f"disval: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("disval: interrupted", file=sys.stderr)
        return 130


def _config_path(argv: list[str] | None) -> Path | None:
    """The configuration file whose values become option defaults (see `disval.core.cli_config`), or None."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    pre.add_argument("--no-config", action="store_true")
    known, _ = pre.parse_known_args(argv)
    if known.no_config:
        return None
    return known.config or find_config()


# Commands defined in this module, whose runs need no other command's parser.
_LEAN_COMMANDS = ("validate",)


def _command_of(argv: list[str]) -> str | None:
    """The command word of the arguments (the first that is no option), or None."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit cannot fail on a closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (captured): nothing will be flushed to a pipe
        pass
    finally:
        os.close(devnull)


def _parser(others: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without `others`, only the commands defined in this module."""
    p = argparse.ArgumentParser(prog="disval", description="Validate and process DIS data deliveries.")
    p.add_argument("--version", action="version", version=f"disval {__version__}")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="configuration file (default: disval.toml or [tool.disval] in pyproject.toml, here or above)")
    p.add_argument("--no-config", action="store_true", help="ignore any configuration file")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    v = sub.add_parser("validate", help="validate delivery zips as the receiving side would")
    v.add_argument("deliveries", nargs="+", type=Path, metavar="ZIP", help="the delivery zip(s)")
    v.add_argument("--codelists", metavar="DIR", help="codelist source (default: the standard's shipped lists)")
    v.add_argument("--format", help="report format(s), comma-separated (see 'disval plugins'); default: the one "
                   "-o's name ends with, else text")
    v.add_argument("-o", "--output", type=Path, help="write the report to this file (one format; '-' is stdout)")
    v.add_argument("--output-dir", type=Path, help="write one report per format into this directory")
    v.add_argument("--standard", help="the standard's id (default: chosen by the zip name)")
    v.add_argument("--policy", help="blocking policy, e.g. 'dis' (every ERR blocks) or 'guidance'")
    v.add_argument("--rules", action="append", type=Path, default=[], metavar="FILE",
                   help="an extra rules file (may be repeated)")
    v.add_argument("--max-findings", "--max-examples", dest="max_findings", type=int, default=DEFAULT_MAX_FINDINGS,
                   metavar="N", help="list at most N findings per rule; 0 lists all (counts are never capped)")
    v.add_argument("--lang", choices=("nl", "en"), default="nl", help="language of messages and hints")
    v.add_argument("--show-identifiers", action="store_true", help="show values of identifying fields")
    v.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: only on a terminal)")
    v.add_argument("--fail-on", choices=("ERR", "WRN"), type=str.upper,
                   help="exit 1 also when a finding of this severity (WRN: or worse) is found, whatever the policy")
    v.add_argument("--select", action="append", default=[], metavar="RULES",
                   help="evaluate only these rule numbers, comma-separated (may be repeated)")
    v.add_argument("--skip", action="append", default=[], metavar="RULES",
                   help="leave these rule numbers out, comma-separated (may be repeated); REC-EOL too")
    v.add_argument("--require-real-codelists", action=argparse.BooleanOptionalAction, default=False,
                   help="assess negative when a codelist used is a sample (default: off; on in 'submit')")
    _verbosity(v)
    v.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the date rules read as 'today' (default: the date of the run; the report records it)")
    v.add_argument("--engine", choices=sorted(ENGINES), default="columnar", help=argparse.SUPPRESS)
    # Batches a second thread reads ahead (0: one thread); for the benchmark, which compares the two.
    v.add_argument("--read-ahead", type=int, default=1, help=argparse.SUPPRESS)
    v.set_defaults(func=_validate)

    r = sub.add_parser("rules", help="list every rule of a standard with its status")
    r.add_argument("--standard", help="the standard's id (default: the only one installed)")
    r.add_argument("--rules", action="append", type=Path, default=[], metavar="FILE", help="an extra rules file")
    r.add_argument("--format", choices=("text", "json"), default="text")
    r.set_defaults(func=_rules)

    pl = sub.add_parser("plugins", help="list the installed plugins and the hooks each implements")
    pl.add_argument("--format", choices=("text", "json"), default="text")
    pl.set_defaults(func=_plugins)

    for register in _command_modules() if others else ():
        register(sub)

    comp = sub.add_parser("completion", help="print a shell completion script: eval \"$(disval completion bash)\"")
    comp.add_argument("shell", choices=SHELLS)
    comp.set_defaults(func=lambda args: _completion(p, args))
    return p


def _verbosity(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors (reports asked with -o/--output-dir are still written)")
    p.add_argument("-v", "--verbose", action="store_true", help="also a summary line per delivery on stderr")


def _completion(parser, args) -> int:
    sys.stdout.write(completion_script(parser, args.shell))
    return 0


def _command_modules():
    """Commands that live with their own module (generate, ga import, the delivery gate)."""
    from .generate import add_generate_command
    from .workbook.command import add_ga_commands

    yield add_generate_command
    yield add_ga_commands
    try:
        from .gate.commands import add_gate_commands
    except ImportError:
        return
    yield add_gate_commands
    from .portal.commands import add_portal_commands  # needs nothing of the serve extra until it runs

    yield add_portal_commands
    from .workers.command import add_worker_command  # procrastinate is imported only when a worker runs

    yield add_worker_command


# ---------------------------------------------------------------- validate


def _iso_date(text: str) -> dt.date:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _validate(args) -> int:
    from disval.plugins.progress import progress_plugins

    pm = get_plugin_manager(extra=() if args.quiet else progress_plugins(args.progress, sys.stderr))
    available = formats_by_name(pm)
    chosen = format_for_output(args.format, None if args.output_dir else args.output, available)
    formats = [f.strip() for f in chosen.split(",") if f.strip()]
    for name in formats:
        if name not in available:
            raise UsageError(f"unknown report format {name!r}; available: {', '.join(sorted(available))}")
    if len(formats) > 1 and not args.output_dir:
        raise UsageError("several formats need --output-dir")
    several = len(args.deliveries) > 1
    if several and args.output:
        raise UsageError("several deliveries need --output-dir (one report each), not -o")
    if several and not args.output_dir and formats != ["text"]:
        raise UsageError(f"several deliveries in {formats[0]} need --output-dir (one report each)")
    for path in args.deliveries:  # every name is checked before any delivery is validated
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    select, skip = _rule_numbers(args.select), _rule_numbers(args.skip)
    limit = None if args.max_findings <= 0 else args.max_findings
    options = ReportOptions(lang=args.lang, show_identifiers=args.show_identifiers, max_examples=limit)
    worst = 0
    for delivery in args.deliveries:
        with ExitStack() as cleanup:
            result = validate(
                _readable(delivery, cleanup), pm=pm, standard=args.standard, codelists=args.codelists,
                policy=args.policy, max_per_rule=limit, extra_rules=tuple(args.rules), engine=args.engine,
                read_ahead=args.read_ahead,
                require_real_codelists=args.require_real_codelists, select=select, skip=skip, today=args.today,
            )
        if args.output_dir:
            # room for the longest extension and the temporary name a report is written under first
            stem = fitting_name(default_stem(result), NAME_MAX - 40)
            for path in write_reports(result, formats, args.output_dir, options, pm=pm, stem=stem):
                if not args.quiet:
                    print(path, file=sys.stderr)
        elif not (args.quiet and not args.output):
            try:
                emit(available[formats[0]], result, options, args.output)
            except BrokenPipeError:
                # The reader stopped early (`| head`): what it read is what it wanted; the exit code
                # still says the assessment.
                _quiet_stdout()
        _say_on_stderr(result, args)
        worst = max(worst, exit_code(result, args.fail_on))
    return worst


def _rule_numbers(values: list[str]) -> tuple[str, ...]:
    """'1801,1778' given once or more, as one tuple of rule numbers."""
    return tuple(n.strip().upper() for v in values for n in v.split(",") if n.strip())


def exit_code(result, fail_on: str | None = None) -> int:
    """1 when the assessment is negative, or a finding reaches `fail_on` (ERR, or WRN and worse); else 0."""
    if result.assessment != "positive":
        return 1
    severities = result.severity_counts()
    failing = {"ERR": ("ERR",), "WRN": ("ERR", "WRN")}.get(fail_on or "", ())
    return 1 if any(severities.get(s, 0) for s in failing) else 0


def _say_on_stderr(result, args) -> None:
    """Sample codelists are said on the terminal too, whatever the report's format; -v adds a summary."""
    if args.quiet:
        return
    samples = [c.name for c in result.codelists if c.sample]
    if samples:
        print(f"disval: warning: {result.delivery} was validated against SAMPLE codelists ({', '.join(samples)}), "
              "not the NZa's; use --codelists DIR", file=sys.stderr)
    if args.verbose:
        sev = result.severity_counts()
        print(f"{result.delivery}: {result.assessment}, {sev.get('ERR', 0)} ERR, {sev.get('WRN', 0)} WRN, "
              f"{sum(result.records.values())} records in {result.duration or 0:.2f} s", file=sys.stderr)


# ---------------------------------------------------------------- rules


def _readable(delivery: Path, cleanup: ExitStack) -> Path:
    """The zip under a name that is UTF-8 (a link in a working directory), so that every report can
    hold its name; the name itself is then a bad name, ZIP-NAME, like any other."""
    name = readable_name(delivery.name)
    if name == delivery.name or not delivery.is_file():
        return delivery
    link = cleanup.enter_context(working_directory("validate")) / fitting_name(name)
    link.symlink_to(delivery.resolve())
    return link


def _rules(args) -> int:
    pm = get_plugin_manager()
    known = standards(pm)
    if args.standard is None and len(known) > 1:
        raise UsageError(f"several standards are installed; choose one with --standard ({', '.join(known)})")
    std = choose_standard(pm, "", args.standard or next(iter(known), None))
    book = rulebook(pm, std, tuple(args.rules))
    rows = [
        {"rule": r.number, "type": r.rule.type, "severity": r.rule.severity, "file": r.file,
         "ddid": r.subject.ddid if r.subject else None, "status": r.status, "reason": r.reason,
         "valid_from": r.rule.valid_from.isoformat() if r.rule.valid_from else None,
         "valid_until": r.rule.valid_until.isoformat() if r.rule.valid_until else None,
         "description": r.rule.message, "source": str(r.rule)}
        for r in book.rules
    ]
    if args.format == "json":
        print(json.dumps({"standard": std.id, "rules": rows}, ensure_ascii=False, indent=2))
        return 0
    table = [[x["rule"], x["type"], x["severity"], x["file"] or "(zip)", x["ddid"] or "", x["status"],
              _short(x["description"])] for x in rows]
    print(f"{std.title}: {len(rows)} rules, {sum(r.status == ACTIVE for r in book.rules)} active\n")
    print(tabulate(table, headers=["rule", "type", "sev", "file", "ddid", "status", "description"]))
    return 0


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- plugins


def _plugins(args) -> int:
    pm = get_plugin_manager()
    rows = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        dist = next((d.project_name for p, d in pm.list_plugin_distinfo() if p is plugin), "built-in")
        rows.append({"plugin": name, "distribution": dist, "hooks": hooks})
    if args.format == "json":
        print(json.dumps({"plugins": rows}, indent=2))
        return 0
    print(tabulate([[r["plugin"], r["distribution"], ", ".join(r["hooks"])] for r in rows],
                   headers=["plugin", "from", "hooks"]))
    formats = formats_by_name(pm)
    print("\nreport formats: " + ", ".join(sorted(formats)))
    print("standards: " + ", ".join(standards(pm)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
