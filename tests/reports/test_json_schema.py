"""The JSON Schema shipped for the public JSON contract holds for real reports, and names every key they have."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' (jsonschema checks the JSON contract)")

from disval.core.gate.processing_reports import quality_view  # noqa: E402
from disval.core.standard import DIS_POLICY  # noqa: E402
from disval.plugins.reports.json import json_schema  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"


def _validate_cli(path: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(path), "--format", "json", *extra],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _check(doc: dict, kind: str = "validation") -> None:
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    undocumented = sorted(_undocumented(doc, schema, schema))
    assert not undocumented, f"keys the schema does not describe: {undocumented}"


def _undocumented(value, node, root, where="") -> set[str]:
    """Object keys of `value` that the schema does not name (maps of files/rules are open by design)."""
    node = _resolve(node, root)
    out: set[str] = set()
    if isinstance(value, dict) and "properties" in node:
        for key, item in value.items():
            if key not in node["properties"]:
                out.add(f"{where}/{key}")
            else:
                out |= _undocumented(item, node["properties"][key], root, f"{where}/{key}")
    elif isinstance(value, list) and "items" in node:
        for item in value:
            out |= _undocumented(item, node["items"], root, f"{where}[]")
    return out


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_the_schema_ships_in_the_package():
    assert json_schema("validation")["properties"]["schema"]["enum"] == ["disval.validation/1", "disval.quality/1"]
    assert json_schema("import")["properties"]["schema"]["const"] == "disval.import/1"


def test_real_validation_reports_follow_the_schema(tmp_path):
    positive = _validate_cli(EXAMPLES / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip")
    negative = _validate_cli(next((EXAMPLES / "faulty").glob("*.zip")), "--lang", "en")
    assert positive["assessment"] == "positive" and negative["findings"]
    not_a_zip = tmp_path / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
    not_a_zip.write_bytes(b"this is not a zip")
    unreadable = _validate_cli(not_a_zip)
    assert unreadable["findings"][0]["rule"] == "ZIP-UNREADABLE"
    for doc in (positive, negative, unreadable):
        _check(doc)


def test_a_report_that_breaks_the_contract_is_caught():
    doc = _validate_cli(next((EXAMPLES / "faulty").glob("*.zip")))
    broken = {**doc, "assessment": "maybe"}
    with pytest.raises(AssertionError, match="assessment"):
        _check(broken)
    renamed = {**doc, "findings": [{**{k: v for k, v in f.items() if k != "line"}, "row": f["line"]}
                                   for f in doc["findings"]]}
    with pytest.raises(AssertionError):
        _check(renamed)


def test_quality_and_import_reports_follow_their_schemas(render, result, import_report):
    _check(json.loads(render("json", quality_view(result, DIS_POLICY))), "quality")
    _check(json.loads(render("json", import_report)), "import")
