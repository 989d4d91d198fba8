"""Nothing is lost: a kept delivery is validated again with the rules and codelists of its time."""
from __future__ import annotations

import shutil

import pytest

from disval.core.gate.process import submit
from disval.core.gate.revalidation import revalidate
from disval.core.pipeline import UsageError
from disval.core.plugins import get_plugin_manager, hookimpl
from gate_support import delivery, register

ORG_RULE = '3315 > 100 => WRN 9100 BR "3315 Direct patiëntgebonden tijd is meer dan 100 minuten"\n'


class OrgRules:
    """An organisation's rules plugin, installed for a while."""

    def __init__(self, path):
        self.path = path

    @hookimpl
    def disval_extra_rules(self, standard):
        return [self.path]


def test_revalidate_uses_the_rules_kept_with_the_delivery(store, tmp_path):
    rules = tmp_path / "org" / "org.rules"
    rules.parent.mkdir()
    rules.write_text(ORG_RULE, encoding="utf-8")
    register(store)
    then = submit(delivery(tmp_path, "test"), store, pm=get_plugin_manager(extra=(OrgRules(rules),)))
    kept = store.delivery(then.delivery).validation["rules"]
    assert [r["file"] for r in kept] == ["ga_ohw_gbg_1_0.rules", "org.rules"]
    assert store.read_blob(kept[1]["sha256"]).decode("utf-8") == ORG_RULE
    counted = store.delivery(then.delivery).counts["findings"]

    shutil.rmtree(rules.parent)  # the plugin is gone, and its rules file with it
    now = revalidate(then.delivery, store, pm=get_plugin_manager())
    assert now.counts.get("9100", 0) > 0 and now.severity_counts() == counted
    assert now.assessment == "positive" and "org.rules" in now.versions["rules"]
    assert not any("was used now" in w for w in now.warnings)  # no codelist release changed


def test_revalidate_reads_the_same_codelist_source_and_says_when_a_release_changed(store, tmp_path):
    from disval.plugins.ga_ohw_gbg import HERE

    lists = tmp_path / "codelists"
    shutil.copytree(HERE / "codelists", lists)
    register(store)
    then = submit(delivery(tmp_path, "test", "20180201"), store, codelists=str(lists))
    assert all(str(lists) in c["source"] for c in store.delivery(then.delivery).validation["codelists"])
    shutil.copy(lists / "20180101 cl beroep gbg SAMPLE.txt", lists / "20180115 cl beroep gbg SAMPLE.txt")
    now = revalidate(then.delivery, store)
    assert [c.source for c in now.codelists if c.name == "CL_BEROEP_GBG"] == [
        str(lists / "20180115 cl beroep gbg SAMPLE.txt")]
    assert any("CL_BEROEP_GBG: release 2018-01-15 was used now, 2018-01-01" in w for w in now.warnings)


def test_a_delivery_rejected_before_validation_has_nothing_to_revalidate(store, tmp_path):
    rejected = submit(delivery(tmp_path, "test"), store)  # unknown provider
    with pytest.raises(UsageError, match="was never validated"):
        revalidate(rejected.delivery, store)
