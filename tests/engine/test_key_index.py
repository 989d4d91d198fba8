"""References looked up in a file's key index (issue 13): the run directory and the sorted-query search
give the verdict a set of the keys gives, also when many keys share a hash."""
from __future__ import annotations

import random

import numpy as np
import pytest

from disval.core.engine import key_index, key_values
from disval.core.engine.key_index import KeyIndex
from disval.core.engine.key_values import Chunks

WIDTH = 12


def _keys(values: list[bytes]) -> np.ndarray:
    return np.array([v.ljust(WIDTH) for v in values], dtype=f"S{WIDTH}")


def _case(seed: int, n: int):
    rng = random.Random(seed)
    known = [b"BT%08d" % rng.randrange(10**8) for _ in range(n)]
    index_keys = _keys(known)
    # The file's keys in three chunks, as batches bring them.
    cuts = (0, n // 3, n * 5 // 6, n)
    chunks = Chunks([(np.arange(a, b, dtype=np.uint32) + 1, index_keys[a:b]) for a, b in zip(cuts, cuts[1:])],
                    (WIDTH,))
    queries = [rng.choice(known) if rng.random() < 0.8 else b"BT%08d" % rng.randrange(10**8) for _ in range(2 * n)]
    queries[7] = b" " + queries[7].strip()  # a leading space: compared without it
    lines = np.arange(1, len(queries) + 1, dtype=np.uint32)
    if seed % 2:  # references that come out of line order (looked up at the end, from several columns)
        order = rng.sample(range(len(queries)), len(queries))
        lines, queries = lines[order], [queries[i] for i in order]
    return set(known), chunks, lines, _keys(queries)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("directory", [True, False])
@pytest.mark.parametrize("colliding", [False, True])
def test_missing_and_found_are_exact(seed, directory, colliding, monkeypatch):
    if not directory:  # an index too big for the run directory: searched with sorted queries
        monkeypatch.setattr(key_index, "_DIRECTORY_MOST", 0)
    if colliding:  # a hash of ten values: every key shares its hash with dozens of others
        monkeypatch.setattr(key_values, "key_hashes", lambda ks: (np.frombuffer(ks.tobytes(), np.uint8)
                                                                  .reshape(len(ks), -1)[:, 9] % 10)
                            .astype(np.uint64) << np.uint64(60))
    known, chunks, lines, queries = _case(seed, 300 if colliding else 3000)
    index = KeyIndex(chunks, WIDTH)
    assert (index.starts is not None) == directory
    is_key = np.array([q.strip() in known for q in queries.tolist()])
    for want_found, got in ((False, index.missing(lines, queries)), (True, index.found(lines, queries))):
        chosen = np.flatnonzero(is_key == want_found)
        chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        assert got[0].tolist() == lines[chosen].tolist()
        assert got[1].tolist() == queries[chosen].tolist()


def test_a_file_made_to_collide_is_not_searched_key_by_key(monkeypatch):
    """Every key on one hash (a hostile file can be made so: the hash is no secret): each reference that
    is not the run's first key used to be compared with the run's keys one at a time, a Python step per
    key, so that 20,000 references into 20,000 keys took hundreds of millions of steps and a delivery
    could hold its provider's queue for hours. The verdicts stay exact, and the keys are read a handful
    of times per lookup, not once per key of the run."""
    monkeypatch.setattr(key_values, "key_hashes", lambda ks: np.full(len(ks), 7 << 40, np.uint64))
    n = 20_000
    known = [b"BT%08d" % (2 * i) for i in range(n)]
    chunks = Chunks([(np.arange(1, n + 1, dtype=np.uint32), _keys(known))], (WIDTH,))
    queries = [b"BT%08d" % i for i in range(n)]  # every other one a key
    lines = np.arange(1, n + 1, dtype=np.uint32)
    reads = []
    compared_at = chunks.compared_at
    monkeypatch.setattr(chunks, "compared_at", lambda *a: reads.append(1) or compared_at(*a))
    index = KeyIndex(chunks, WIDTH)
    missing_lines, missing = index.missing(lines, _keys(queries))
    found_lines, _ = index.found(lines, _keys(queries))
    assert missing.tolist() == _keys(queries[1::2]).tolist() and missing_lines.tolist() == lines[1::2].tolist()
    assert found_lines.tolist() == lines[0::2].tolist()
    assert len(reads) <= 4  # the first slots and the colliding keys, per lookup
