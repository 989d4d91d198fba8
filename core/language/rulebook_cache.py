"""Compiled rule books kept on disk, so that a process does not compile the same rules again.

Compiling a standard's rules (lark's import, parsing, resolving every field)
costs about as much as validating a practice's small delivery. A compiled
book is therefore pickled into the user's cache directory (platformdirs:
`~/.cache/disval/rulebooks` on Linux), under a key that changes whenever the
result could: disval's version, the source of the rule language itself (an
editable install changes without a version bump), what the compiler reads
of the standard (id, version, layout, validation types, zip parts,
codelists) and the name and bytes of every rules file. A stale entry is
thus never found, only left behind.

The layout's fields and files, and the standard itself, are not pickled but
named, and taken from the live standard when the book is read, so that a
cached book points at the very objects a freshly compiled one would.

Entries are written to a temporary file and renamed into place, so that a
reader sees a whole entry or none. An entry that cannot be read (cut short,
garbled, of an older disval's classes) is ignored, compiled again and
overwritten. Failing to write is no error either: the book is still
returned. `$DISVAL_CACHE_DIR` moves the cache; `none` turns it off.

Stale entries are left behind by every change of rules or version, so the
folder is pruned whenever an entry is written: the `KEEP` most recently used
entries stay (an entry's modification time is refreshed when it is read),
and temporary files of writers that died are removed after an hour.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from importlib import resources
from pathlib import Path
from typing import Callable

from ..layout import Field, FileLayout
from ..standard import Standard

# The format of an entry; raise it when what is pickled changes shape in a way the key would miss.
FORMAT = 1
# How many entries a cache folder keeps: a few standards, each with a few rule-file sets in use.
KEEP = 32
# A temporary file this old belongs to a writer that died, not to one still writing.
ORPHAN_SECONDS = 3600


def cache_dir() -> Path | None:
    """Where compiled rule books are kept: `$DISVAL_CACHE_DIR`, else the user's cache directory; None: off."""
    chosen = os.environ.get("DISVAL_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "none", "off") else Path(chosen) / "rulebooks"
    import platformdirs  # here: only a process that compiles rules needs it

    return platformdirs.user_cache_path("disval", appauthor=False) / "rulebooks"


def book_key(standard: Standard, files: tuple[Path, ...]) -> str | None:
    """The entry's name for these rules of this standard; None when a file cannot be read (the
    compiler then reports it)."""
    from .. import __version__

    digest = hashlib.sha256()
    for part in (f"format {FORMAT}", __version__, _language_source(), standard.id, str(standard.version),
                 repr(standard.layout), repr(tuple(standard.rule_types)),
                 repr(sorted(standard.naming.part_types.items())), repr(standard.codelists)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for path in files:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        digest.update(str(path).encode("utf-8", "surrogatepass") + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:32]


_SOURCE: list[str] = []


def _language_source() -> str:
    """A digest of the rule language's modules and of the layout model, read once per process."""
    if not _SOURCE:
        digest = hashlib.sha256()
        core = resources.files(__package__).joinpath("..")
        for folder, names in ((resources.files(__package__), None), (core, ("layout.py", "standard.py"))):
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                if entry.name.endswith((".py", ".lark")) and (names is None or entry.name in names):
                    digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
        _SOURCE.append(digest.hexdigest())
    return _SOURCE[0]


def load_or_compile(standard: Standard, compile_book: Callable[[], object]):
    """The book compiled from `standard.rule_files`: from the cache when there, else compiled and kept."""
    folder = cache_dir()
    key = book_key(standard, tuple(standard.rule_files)) if folder is not None else None
    if key is None:
        return compile_book()
    entry = folder / f"{standard.id.replace(os.sep, '_')}-{key}.pickle"
    book = _read(entry, standard)
    if book is None:
        book = compile_book()
        _write(entry, book, standard)
    return book


class _Pickler(pickle.Pickler):
    """Names the standard, its layout's files and fields instead of copying them."""

    def __init__(self, file, standard: Standard):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.standard = standard

    def persistent_id(self, obj):
        """("field", ddid), ("file", name) or ("standard",) for the standard's own objects, else None."""
        if obj is self.standard:
            return ("standard",)
        if isinstance(obj, Field) and self.standard.layout.field(obj.ddid) is obj:
            return ("field", obj.ddid)
        if isinstance(obj, FileLayout) and self.standard.layout.file(obj.name) is obj:
            return ("file", obj.name)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, standard: Standard):
        super().__init__(file)
        self.standard = standard

    def persistent_load(self, pid):
        """The live object a `_Pickler.persistent_id` names."""
        kind, *name = pid
        found = {"standard": lambda: self.standard, "field": lambda: self.standard.layout.field(name[0]),
                 "file": lambda: self.standard.layout.file(name[0])}[kind]()
        if found is None:
            raise pickle.UnpicklingError(f"{kind} {name} is not in the standard's layout")
        return found


def _read(entry: Path, standard: Standard):
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    try:
        book = _Unpickler(io.BytesIO(data), standard).load()
    except Exception:  # noqa: BLE001 - a broken entry is compiled again, whatever broke it
        return None
    try:
        os.utime(entry)  # used: pruning keeps the most recently used entries
    except OSError:
        pass
    return book


def _write(entry: Path, book, standard: Standard) -> None:
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, standard).dump(book)
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=entry.name + ".", suffix=".tmp", dir=entry.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(buffer.getvalue())
            os.replace(temporary, entry)  # atomic: a reader sees the old entry, the new one or none
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # a cache that cannot be written costs time, not correctness
    prune(entry.parent)


def prune(folder: Path, keep: int = KEEP) -> None:
    """Remove all but the `keep` most recently used entries of `folder`, and orphaned temporary files.

    Another process may prune or write at the same time: a file that is gone
    already is simply skipped, and a reader that loses its entry compiles again.
    """
    import time

    entries, now = [], time.time()
    try:
        listing = list(os.scandir(folder))
    except OSError:
        return
    for item in listing:
        try:
            modified = item.stat().st_mtime
        except OSError:
            continue
        if item.name.endswith(".pickle"):
            entries.append((modified, item.path))
        elif item.name.endswith(".tmp") and now - modified > ORPHAN_SECONDS:
            _remove(item.path)
    for _, path in sorted(entries, reverse=True)[keep:]:
        _remove(path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
