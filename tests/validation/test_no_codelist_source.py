"""A standard whose codelists have no source: the rules that need them say so plainly, in either language."""
from dataclasses import replace
from pathlib import Path


from disval.core.pipeline import standards, validate
from disval.core.plugins import get_plugin_manager, hookimpl
from disval.core.report_view import validation_view
from disval.core.reports import ReportOptions

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"


class WithoutLists:
    """A copy of the built-in GA OHW-GBG standard that ships no codelists."""

    def __init__(self, std):
        self.std = replace(std, id="GA-OHW-GBG-NOLISTS", codelists_dir=None)

    @hookimpl
    def disval_standards(self):
        return [self.std]


def test_rules_needing_codelists_say_no_source_was_given():
    built_in = next(iter(s for s in standards(get_plugin_manager()).values() if s.codelists_dir))
    pm = get_plugin_manager(extra=[WithoutLists(built_in)])
    result = validate(EXAMPLE, pm=pm, standard="GA-OHW-GBG-NOLISTS")
    reasons = {i.rule: i.reason for i in result.not_evaluated}
    assert reasons, "rules that read codelists should not be evaluated without any list"
    for lang, expected in (("nl", "geen codelijstbron opgegeven (--codelists)"),
                           ("en", "no codelist source given (--codelists)")):
        view = validation_view(result, ReportOptions(lang=lang))
        texts = [line.reason for line in view.not_evaluated if "codelist" in line.reason or "codelijst" in line.reason]
        assert len(texts) >= 3 and all(expected in t for t in texts), texts
        assert not any("not found in" in t or "niet gevonden in" in t for t in texts)
