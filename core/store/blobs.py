"""Kept zips and reports as content-addressed blobs, in parts, in the `blobs` table of a `SqlStore`."""
from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from .delivery_store import StoreError
from .values import _parts


class SqlBlobs:
    """The blob methods of `SqlStore` (`put_blob`, `read_blob`, `save_blob`): a zip is kept in parts,
    so that neither keeping nor reading one holds it in memory whole."""

    def _put_blob(self, content: bytes | Path) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        for part in _parts(content):
            digest.update(part)
            size += len(part)
        sha256 = digest.hexdigest()
        if self._exec("SELECT 1 FROM blobs WHERE sha256 = ? AND part = 0", (sha256,)).fetchone() is None:
            for number, part in enumerate(_parts(content)):
                self._exec(
                    "INSERT INTO blobs (sha256, part, data) VALUES (?, ?, ?) ON CONFLICT (sha256, part) DO NOTHING",
                    (sha256, number, part),
                )
        return sha256, size

    def put_blob(self, content):
        with self._transaction():
            return self._put_blob(content)[0]

    def read_blob(self, sha256):
        rows = self._exec("SELECT data FROM blobs WHERE sha256 = ? ORDER BY part", (sha256,)).fetchall()
        if not rows:
            raise StoreError(f"no zip with sha256 {sha256} is kept in {self.url}")
        return b"".join(bytes(r[0]) for r in rows)

    def save_blob(self, sha256, dest):
        dest = Path(dest)
        with dest.open("wb") as out:
            for number in itertools.count():  # part by part: a large zip never sits in memory whole
                row = self._exec("SELECT data FROM blobs WHERE sha256 = ? AND part = ?", (sha256, number)).fetchone()
                if row is None:
                    break
                out.write(bytes(row[0]))
        if number == 0:
            dest.unlink()
            raise StoreError(f"no zip with sha256 {sha256} is kept in {self.url}")
        return dest

