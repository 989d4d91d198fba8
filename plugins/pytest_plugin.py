"""A pytest plugin for software vendors: "our export is valid" as a test in their CI.

Installed with disval (entry point `pytest11`), so in a vendor's test suite:

    def test_export_is_valid(tmp_path, disval_delivery):
        zip_path = my_export(tmp_path)            # the vendor's own code writes a delivery
        result = disval_delivery(zip_path)        # fails the test with the findings if negative
        assert result.records["PAKBON.txt"] == 1

or, without writing a test, every delivery zip under a folder is a test item:

    pytest --disval-deliveries exports/ --disval-codelists nza-codelijsten/

Options (also as ini keys `disval_codelists`, `disval_standard`, `disval_policy`,
`disval_fail_on`): `--disval-codelists DIR`, `--disval-standard ID`,
`--disval-policy NAME`, `--disval-fail-on ERR|WRN` (fail on findings of that
severity even when the policy would pass them), `--disval-require-real-codelists`.

Nothing of disval is imported until a delivery is validated, so the plugin
costs a test run nothing when it is not used.
"""
from __future__ import annotations

from pathlib import Path

import pytest

OPTIONS = ("codelists", "standard", "policy", "fail_on")
EXAMPLES_PER_RULE = 3


def pytest_addoption(parser) -> None:
    """The --disval-* options and their ini keys."""
    group = parser.getgroup("disval", "validate DIS deliveries with disval")
    group.addoption("--disval-codelists", metavar="DIR", help="codelist directory (default: the standard's shipped)")
    group.addoption("--disval-standard", metavar="ID", help="the standard's id (default: chosen by the zip name)")
    group.addoption("--disval-policy", metavar="NAME", help="blocking policy (default: the standard's)")
    group.addoption("--disval-fail-on", metavar="ERR|WRN", help="also fail on findings of this severity")
    group.addoption("--disval-require-real-codelists", action="store_true", default=None,
                    help="fail a delivery validated against sample codelists")
    group.addoption("--disval-deliveries", metavar="PATH", action="append", default=[],
                    help="validate every .zip under PATH as a test item (may be repeated)")
    for name in OPTIONS:
        parser.addini(f"disval_{name}", f"default for --disval-{name.replace('_', '-')}")
    parser.addini("disval_require_real_codelists", "default for --disval-require-real-codelists", type="bool",
                  default=False)


def settings(config) -> dict:
    """The options in force: the command line, else the ini file."""
    out = {}
    for name in OPTIONS:
        value = config.getoption(f"disval_{name}") or config.getini(f"disval_{name}") or None
        out[name] = value
    flag = config.getoption("disval_require_real_codelists")
    out["require_real_codelists"] = bool(config.getini("disval_require_real_codelists") if flag is None else flag)
    if out["fail_on"]:
        out["fail_on"] = str(out["fail_on"]).upper()
        if out["fail_on"] not in ("ERR", "WRN"):
            raise pytest.UsageError(f"--disval-fail-on must be ERR or WRN, not {out['fail_on']!r}")
    return out


class DeliveryInvalid(AssertionError):
    """A delivery that disval assesses negative (or that has findings --disval-fail-on fails on)."""


def check_delivery(path, **options):
    """Validate one delivery zip; raise DeliveryInvalid with the findings when it does not pass.

    `options`: codelists, standard, policy, fail_on ("ERR"/"WRN"), require_real_codelists.
    Returns the `ValidationResult`, so a test can look further.
    """
    from disval.core.cli import exit_code
    from disval.core.pipeline import UsageError, validate

    fail_on = options.pop("fail_on", None)
    try:
        result = validate(Path(path), **{k: v for k, v in options.items() if v is not None})
    except UsageError as exc:
        raise pytest.UsageError(f"disval: {exc}") from None
    if exit_code(result, fail_on):
        raise DeliveryInvalid(failure_text(result, fail_on))
    return result


def failure_text(result, fail_on: str | None = None) -> str:
    """What a failing test shows: the verdict, then per rule its count, text and first examples."""
    from disval.core.report_view import column_range, validation_view, value_text
    from disval.core.reports import ReportOptions

    options = ReportOptions(lang="en", max_examples=EXAMPLES_PER_RULE)
    view = validation_view(result, options)
    sev = view.severity_counts
    head = (f"{result.delivery}: assessment {result.assessment} (policy {result.policy}"
            + (f", failing on {fail_on}" if fail_on else "") + f"), {sev.get('ERR', 0)} ERR, {sev.get('WRN', 0)} WRN")
    lines = [head] + [f"  warning: {w}" for w in result.warnings if result.assessment == "negative"]
    for line in view.fired:
        lines.append(f"  {line.info.rule} {line.info.type} {line.info.severity} x{line.count}: {line.description}")
        for row in view.by_rule.get(line.info.rule, []):
            where = ":".join(str(x) for x in (row["file"] or "(zip)", row["line"]) if x is not None)
            columns = column_range(row["column"], row["column_end"])
            detail = " ".join(x for x in (row["ddid"], value_text(row, options)) if x)
            lines.append(f"      {where}" + (f" col {columns}" if columns else "") + (f" {detail}" if detail else ""))
        if line.not_listed:
            lines.append(f"      ... {line.not_listed} more")
        if line.hint:
            lines.append(f"      hint: {line.hint}")
    return "\n".join(lines)


@pytest.fixture
def disval_delivery(request):
    """Validate a delivery zip your test wrote: `disval_delivery(path, **options)` returns the result,
    or fails the test with the findings. Options default to the --disval-* options."""
    defaults = settings(request.config)

    def check(path, **options):
        __tracebackhide__ = True
        try:
            return check_delivery(path, **{**defaults, **options})
        except DeliveryInvalid as exc:
            pytest.fail(str(exc), pytrace=False)
    return check


# ---------------------------------------------------------------- every zip under --disval-deliveries


def pytest_collect_file(file_path: Path, parent):
    """A .zip under one of the --disval-deliveries paths is a test item."""
    roots = [Path(p).resolve() for p in parent.config.getoption("disval_deliveries") or ()]
    if file_path.suffix.lower() != ".zip" or not roots:
        return None
    here = file_path.resolve()
    if any(here == root or root in here.parents for root in roots):
        return DeliveryFile.from_parent(parent, path=file_path)
    return None


def pytest_configure(config) -> None:
    """Make sure the --disval-deliveries paths are collected even when they are not test paths."""
    for path in config.getoption("disval_deliveries") or ():
        if path not in config.args:
            config.args.append(str(path))


class DeliveryFile(pytest.File):
    """A delivery zip: one test item."""

    def collect(self):
        yield DeliveryItem.from_parent(self, name="disval")


class DeliveryItem(pytest.Item):
    """Validates its delivery with the --disval-* options."""

    def runtest(self) -> None:
        check_delivery(self.path, **settings(self.config))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, DeliveryInvalid):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"disval {self.path.name}"
