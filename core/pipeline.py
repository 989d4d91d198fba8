"""The validation pipeline: from a zip on disk to a `ValidationResult`.

    choose standard -> compile rules (once) -> codelist provider -> open zip
    -> packing slip -> rules in force on the delivery date -> stream every
    member through the engine -> counts, members, keys, history -> assessment
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .engine.columnar import ColumnarEngine
from .engine.common import RecordMarks
from .engine.reference import ReferenceEngine
from .errors import UsageError
from .findings import FindingCollector, ValidationResult
from .history import History
from .language import compiler as c
from .language.rulebook_cache import load_or_compile
from .notes import Note
from .plugins import by_name, get_plugin_manager
from .reader import Limits, RecordReader, open_delivery, zip_finding
from .validation_run import RecordSink
from .standard import Standard
from .validation_run import RuleSelection, ValidationRun

ENGINES = {"columnar": ColumnarEngine, "reference": ReferenceEngine}


# ---------------------------------------------------------------- standards and rules


def standards(pm) -> dict[str, Standard]:
    """Every standard the installed plugins declare, by id."""
    try:
        return by_name(pm.hook.disval_standards(), "a standard named", key=lambda std: std.id)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def choose_standard(pm, delivery_name: str, wanted: str | None = None) -> Standard:
    """The standard named by `wanted`, else the one whose zip naming claims the delivery's name."""
    known = standards(pm)
    if wanted:
        if wanted not in known:
            raise UsageError(f"unknown standard {wanted!r}; installed: {', '.join(known) or 'none'}")
        return known[wanted]
    claiming = [s for s in known.values() if s.naming.claims.fullmatch(delivery_name)]
    if len(claiming) == 1:
        return claiming[0]
    if not claiming and len(known) == 1:
        return next(iter(known.values()))
    if not known:
        raise UsageError("no standard is installed")
    names = ", ".join(s.id for s in (claiming or known.values()))
    error = UnclaimedName if not claiming else UsageError
    raise error(f"cannot tell which standard {delivery_name} follows; choose one with --standard ({names})")


class UnclaimedName(UsageError):
    """No installed standard's zip naming claims the name, and several are installed."""


def unclaimed_result(path: Path, known: dict[str, Standard]) -> ValidationResult:
    """The negative assessment of a zip whose name no installed standard claims: one ZIP-NAME finding.

    With one standard installed such a zip is validated under it (its ZIP-NAME finding says the same);
    with several, none of their rules can be chosen, so the name is all there is to report.
    """
    detail = (f"geen van de geïnstalleerde standaarden herkent deze naam: {', '.join(known)}; "
              "kies er een met --standard")
    finding = zip_finding("ZIP-NAME", value=path.name, detail=detail)
    return ValidationResult(
        delivery=path.name, standard="", standard_title="", policy="", assessment="negative", records={},
        findings=[finding], counts={"ZIP-NAME": 1}, rules=[], not_evaluated=[],
        versions={"disval": __version__, "standard": "", "rules": ""},
    )


_BOOKS: dict[tuple, tuple[tuple, c.RuleBook]] = {}  # key -> (the files' stamps, book)


def rule_files(pm, standard: Standard, extra_rules: tuple = ()) -> tuple[Path, ...]:
    """Every rules file a validation compiles, in order: the standard's, then plugins', then one-off ones."""
    from_plugins = tuple(Path(p) for group in pm.hook.disval_extra_rules(standard=standard) for p in group or ())
    return tuple(Path(p).resolve() for p in (*standard.rule_files, *from_plugins, *extra_rules))


def rulebook(pm, standard: Standard, extra_rules: tuple = (), files: tuple | None = None) -> c.RuleBook:
    """The standard's rules plus plugin and one-off rule files, compiled once (kept on disk between
    processes, see `disval.core.language.rulebook_cache`).

    `files` replaces that whole list, e.g. with the rules a kept delivery was validated with.
    """
    files = rule_files(pm, standard, extra_rules) if files is None else tuple(Path(f).resolve() for f in files)
    key = (standard.id, tuple(map(str, files)))
    # A long-running process (a portal, a worker) keeps the book while its files stay as they were:
    # a rules file edited, replaced or removed since is compiled (or looked up on disk) again.
    stamp = tuple(map(_file_stamp, files))
    kept = _BOOKS.get(key)
    if kept is None or kept[0] != stamp:
        chosen = replace(standard, rule_files=files)
        kept = _BOOKS[key] = (stamp, load_or_compile(chosen, lambda: c.compile_rulebook(chosen)))
    return kept[1]


def _file_stamp(path: Path) -> tuple:
    """What changes when a file is edited or replaced: size, modification time, inode; None when unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def record_readers(pm, standard: Standard) -> dict[str, RecordReader]:
    """The reader of each member file, from the `disval_record_reader` hook (fixed-width is built in)."""
    readers = {}
    for f in standard.layout.files:
        reader = pm.hook.disval_record_reader(standard=standard, layout=f)
        if reader is None:
            raise UsageError(f"no installed plugin reads {f.name} of {standard.id} ({standard.reader} records)")
        readers[f.name] = reader
    return readers


# ---------------------------------------------------------------- validation


def validate(path, *, pm=None, standard: str | None = None, codelists: str | None = None,
             policy: str | None = None, max_per_rule: int | None = None, extra_rules: tuple = (),
             history: History | None = None, engine: str = "columnar", limits: Limits = Limits(),
             batch_records: int = 1 << 16, rule_files: tuple | None = None,
             require_real_codelists: bool = False, select: tuple[str, ...] = (),
             skip: tuple[str, ...] = (), today: dt.date | None = None,
             records_sink: RecordSink | None = None, read_ahead: int = 1) -> ValidationResult:
    """Validate one delivery zip as the receiving side would; never raises for a broken delivery.

    `rule_files` replaces every rules file (the standard's, plugins', `extra_rules`): re-validating
    a kept delivery with the rules of its time. `require_real_codelists` makes the assessment
    negative when a codelist used is a sample (`Codelist.sample`), with a warning that says why.
    `select` evaluates only these rule numbers, `skip` leaves these out (see `RuleSelection`).
    `today` fixes the date rules read as `today` (default: the date the run starts); the report
    records it, so a run can be repeated exactly. `read_ahead` is how many batches of a member a
    second thread inflates and cuts while this one checks (0: all on this thread; same results).
    """
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    today = today or dt.date.today()
    pm = pm or get_plugin_manager()
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        std = choose_standard(pm, path.name, standard)
    except UnclaimedName:
        result = unclaimed_result(path, standards(pm))
        pm.hook.disval_validation_finished(result=result)
        return result
    book = rulebook(pm, std, extra_rules, rule_files)
    chosen = RuleSelection.of(book, select, skip)
    try:
        blocking = std.policy(policy)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    provider = pm.hook.disval_codelist_provider(standard=std, location=codelists)
    readers = record_readers(pm, std)
    collector = FindingCollector(max_per_rule, ignore=chosen.ignored_reader_ids)
    marks = RecordMarks()
    with open_delivery(path, std, limits) as delivery:
        collector.name_files(delivery.found_as)
        run = ValidationRun(pm, std, book, delivery, provider, readers, collector, marks, history, limits, batch_records)
        run.selection = chosen
        run.sink = records_sink
        run.read_ahead = read_ahead
        run.ctx.today = today
        run.go(ENGINES[engine])
        for finding in delivery.findings:
            collector.add(finding)
        infos = run.rule_infos()
        records = {delivery.found_as.get(name, name): n for name, n in run.ctx.counts.items()}
    counts = dict(collector.counts)
    severity = {i.rule: i.severity for i in infos}
    negative = any(blocking.blocks(severity.get(rule, "ERR"), rule) for rule, n in counts.items() if n)
    samples = [r.name for r in run.releases if r.sample]
    if require_real_codelists and samples:
        negative = True
        run.warnings.append(Note("sample_refused", names=", ".join(samples)))
    result = ValidationResult(
        delivery=path.name, standard=std.id, standard_title=std.title, policy=blocking.name,
        blocking=blocking,
        assessment="negative" if negative else "positive", records=records, findings=collector.findings(),
        counts=counts, rules=infos, not_evaluated=[i for i in infos if i.status != c.ACTIVE],
        records_with={delivery.found_as.get(f, f): v for f, v in marks.counts().items()},
        codelists=run.releases, warnings=run.warnings,
        phase=delivery.zip_name.phase if delivery.zip_name else None,
        identifying=tuple(dict.fromkeys([f.ddid for f in std.layout.fields if f.identifying] + list(std.identifying))),
        versions={"disval": __version__, "standard": f"{std.id} v{std.version}", "rules": ", ".join(book.sources),
                  "date": today.isoformat()},
        field_names_en={f.ddid: f.name_en for f in std.layout.fields if f.name_en},
        values={rule: dict(v) for rule, v in collector.values.items()}, other_values=dict(collector.other_values),
        started=started, duration=time.perf_counter() - clock,
    )
    pm.hook.disval_validation_finished(result=result)
    return result

