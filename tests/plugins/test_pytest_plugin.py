"""The pytest plugin for vendors, run the way a vendor's CI runs it (pytester: a pytest inside pytest)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from disval.plugins import pytest_plugin

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"
GOOD = EXAMPLES / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
BAD = next((EXAMPLES / "faulty").glob("*.zip"))


@pytest.fixture
def vendor(pytester, request):
    """A vendor's project with the plugin loaded (by its entry point, or by hand where not installed)."""
    if not request.config.pluginmanager.has_plugin("disval"):
        pytester.makeconftest("pytest_plugins = ['disval.plugins.pytest_plugin']")
    pytester.makeini("[pytest]\n")  # not this project's own pytest settings
    return pytester


def test_the_plugin_is_registered_by_its_entry_point():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="pytest11") if ep.value == "disval.plugins.pytest_plugin"]
    assert found, "pyproject.toml declares [project.entry-points.pytest11]; reinstall with pip install -e ."


def test_the_fixture_passes_a_valid_export_and_fails_a_broken_one_with_its_findings(vendor):
    vendor.makepyfile(f"""
        import shutil

        def export(tmp_path, source):
            # stands in for the vendor's own export code
            return shutil.copy(source, tmp_path / source.rsplit("/", 1)[-1])

        def test_valid_export(tmp_path, disval_delivery):
            result = disval_delivery(export(tmp_path, {str(GOOD)!r}))
            assert result.assessment == "positive"

        def test_broken_export(tmp_path, disval_delivery):
            disval_delivery(export(tmp_path, {str(BAD)!r}))
    """)
    run = vendor.runpytest_subprocess()
    run.assert_outcomes(passed=1, failed=1)
    out = run.stdout.str()
    assert f"{BAD.name}: assessment negative (policy dis), 5 ERR, 0 WRN" in out
    assert "1651 V ERR x1" in out and "GELEVERD_ZORGPROFIEL.txt 3245 '120' (expected 119)" in out
    assert "BEHANDELTRAJECT.txt:3 col 36-43 3262 '20180231'" in out
    assert "hint:" in out and "Traceback" not in out


def test_options_reach_the_fixture(vendor):
    vendor.makepyfile(f"""
        def test_sample_lists_refused(disval_delivery):
            disval_delivery({str(GOOD)!r})
    """)
    run = vendor.runpytest_subprocess("--disval-require-real-codelists")
    run.assert_outcomes(failed=1)
    assert "--require-real-codelists" in run.stdout.str()
    vendor.makeini("[pytest]\ndisval_policy = guidance\n")
    vendor.makepyfile(f"""
        def test_guidance(disval_delivery):
            assert disval_delivery({str(BAD)!r}).policy == "guidance"
    """)
    vendor.runpytest_subprocess().assert_outcomes(passed=1)
    vendor.runpytest_subprocess("--disval-fail-on", "ERR").assert_outcomes(failed=1)


def test_every_zip_under_a_folder_is_a_test_item(vendor):
    exports = vendor.path / "exports"
    exports.mkdir()
    shutil.copy(GOOD, exports)
    shutil.copy(BAD, exports / BAD.name.replace("20180301", "20180302"))
    run = vendor.runpytest_subprocess("--disval-deliveries", "exports", "-v")
    run.assert_outcomes(passed=1, failed=1)
    out = run.stdout.str()
    assert "1769 S ERR x1" in out and "Traceback" not in out


def test_failure_text_names_every_rule_that_fired():
    from disval.core.pipeline import validate

    result = validate(BAD)
    text = pytest_plugin.failure_text(result)
    assert all(f"{rule} " in text for rule in result.counts)
    assert text.splitlines()[0].startswith(f"{BAD.name}: assessment negative")
