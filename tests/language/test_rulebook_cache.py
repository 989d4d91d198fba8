"""Compiled rule books cached on disk (issue 13): the same book, found again, never stale, never broken."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import disval.core
from disval.core.language import compiler as c
from disval.core.language import rulebook_cache as cache
from disval.core import pipeline
from disval.core.pipeline import validate
from disval.plugins.ga_ohw_gbg import standard

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"
FAULTY = EXAMPLES / "faulty" / "DIS_GBG_OHW_TEST_010_94001234_00_20180301_01.zip"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DISVAL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "rulebooks"


def _counting(std):
    """load_or_compile, counting how often the rules were really compiled."""
    calls = []

    def compile_book():
        calls.append(1)
        return c.compile_rulebook(std)

    return (lambda: cache.load_or_compile(std, compile_book)), calls


def test_a_cached_book_is_the_book_compiled(cache_dir):
    std = standard()
    load, calls = _counting(std)
    fresh, cached = load(), load()
    assert len(calls) == 1 and len(list(cache_dir.iterdir())) == 1
    assert cached is not fresh
    assert cached.rules == fresh.rules and cached.sources == fresh.sources
    # Fields, files and the standard are the live ones, not copies.
    assert cached.standard is std
    subjects = [r.subject for r in cached.rules if r.subject is not None]
    assert subjects and all(s is std.layout.field(s.ddid) for s in subjects)


def test_a_cached_book_validates_alike(cache_dir, monkeypatch):
    std = standard()
    load, _ = _counting(std)
    books = [load(), load()]
    results = []
    for book in books:
        files = tuple(Path(f).resolve() for f in std.rule_files)
        stamps = tuple(map(pipeline._file_stamp, files))
        monkeypatch.setattr("disval.core.pipeline._BOOKS", {(std.id, tuple(map(str, files))): (stamps, book)})
        results.append(validate(FAULTY, max_per_rule=None, rule_files=std.rule_files))
    assert results[0].findings == results[1].findings and results[0].counts == results[1].counts
    assert len(results[0].findings) == 5


def test_a_changed_rules_file_or_version_is_compiled_again(cache_dir, tmp_path, monkeypatch):
    extra = tmp_path / "extra.rules"
    extra.write_text('3309 is empty => WRN X-1 BR "no traject"\n', encoding="utf-8")
    std = replace(standard(), rule_files=(*standard().rule_files, extra))
    load, calls = _counting(std)
    load()
    extra.write_text('3309 is empty => WRN X-1 BR "no traject at all"\n', encoding="utf-8")
    book = load()
    assert len(calls) == 2 and book.rules[-1].rule.message == "no traject at all"
    monkeypatch.setattr(disval.core, "__version__", "99.0")
    load()
    assert len(calls) == 3
    monkeypatch.undo()
    monkeypatch.setenv("DISVAL_CACHE_DIR", str(cache_dir.parent))
    load()  # back to the first version and text: found
    assert len(calls) == 3


@pytest.mark.parametrize("damage", [b"", b"not a pickle", None])
def test_a_broken_entry_is_compiled_again_and_replaced(damage, cache_dir):
    std = standard()
    load, calls = _counting(std)
    good = load()
    (entry,) = cache_dir.iterdir()
    data = entry.read_bytes()
    entry.write_bytes(damage if damage is not None else data[:len(data) // 2])
    assert load().rules == good.rules and len(calls) == 2
    assert entry.read_bytes() == data  # rewritten whole
    load()
    assert len(calls) == 2


def test_entries_are_written_whole_or_not_at_all(cache_dir, monkeypatch):
    std = standard()
    load, calls = _counting(std)

    def no_rename(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", no_rename)
    assert load().rules  # a cache that cannot be written is no error
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []  # no half entry, no temporary file
    monkeypatch.undo()


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DISVAL_CACHE_DIR", "none")
    assert cache.cache_dir() is None
    load, calls = _counting(standard())
    load(), load()
    assert len(calls) == 2


def test_the_default_cache_is_the_users_cache_directory(monkeypatch):
    import platformdirs

    monkeypatch.delenv("DISVAL_CACHE_DIR")
    assert cache.cache_dir() == platformdirs.user_cache_path("disval", appauthor=False) / "rulebooks"


def test_a_second_process_does_not_import_the_parser(cache_dir):
    """With the book cached, `disval validate` neither parses rules nor imports lark."""
    script = ("import sys\nfrom disval.core.cli import main\ncode = main(sys.argv[1:])\n"
              "print('lark' in sys.modules, code, file=sys.stderr)")
    runs = [subprocess.run([sys.executable, "-c", script, "validate", str(FAULTY), "--format", "json"],
                           capture_output=True, text=True, env={**os.environ}) for _ in range(2)]
    assert [r.stderr.strip().splitlines()[-1] for r in runs] == ["True 1", "False 1"]
    assert _report(runs[0].stdout) == _report(runs[1].stdout)


def _report(text: str) -> dict:
    """The JSON report without the time it was made and took."""
    report = json.loads(text)
    for key in ("started", "duration_seconds"):
        report.pop(key)
    return report


def test_the_folder_keeps_the_most_recently_used_entries(cache_dir):
    """Each change of rules or version leaves an entry behind; the folder does not grow without end."""
    std = standard()
    load, calls = _counting(std)
    load()
    (live,) = cache_dir.iterdir()
    stale = []
    for n in range(cache.KEEP + 5):
        old = cache_dir / f"{std.id}-stale{n:02d}.pickle"
        old.write_bytes(b"left behind by an older version")
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
        stale.append(old)
    orphan = cache_dir / f"{live.name}.abc.tmp"
    orphan.write_bytes(b"half")
    os.utime(orphan, (1_000_000, 1_000_000))
    os.utime(live, (900_000, 900_000))  # the oldest file, until it is read
    load()  # read from the cache: now the most recently used
    assert len(calls) == 1
    cache.prune(cache_dir)
    left = sorted(p.name for p in cache_dir.iterdir())
    assert len(left) == cache.KEEP and live.name in left and orphan.name not in left
    # The newest stale entries are the ones kept; the oldest went.
    assert stale[-1].name in left and stale[0].name not in left
    # Writing an entry prunes too.
    for n in range(3):
        (cache_dir / f"{std.id}-newer{n}.pickle").write_bytes(b"left behind")
    live.unlink()
    load()
    assert len(calls) == 2 and len(list(cache_dir.iterdir())) == cache.KEEP and live.exists()
