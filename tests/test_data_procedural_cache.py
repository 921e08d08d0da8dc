"""The procedural library's disk cache: the same clips as generating them, read back without generating,
and never trusted when damaged or made by other generator code."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import procedural_cache
from engine.data.procedural import generate_library
from engine.data.procedural_cache import cached_library
from engine.data.specs import open_dataset

N = 40


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path))
    return tmp_path / "procedural"


def same(a, b) -> bool:
    return all(x.id == y.id and x.captions == y.captions and x.label == y.label and x.motion.fps == y.motion.fps
               and x.motion.meta == y.motion.meta and np.array_equal(x.motion.joints, y.motion.joints)
               and x.motion.joints.dtype == y.motion.joints.dtype for x, y in zip(a, b)) and len(a) == len(b)


def test_cached_clips_equal_generated_ones_and_are_read_back(cache, monkeypatch):
    reference = generate_library(N, seed=3, workers=1)
    assert same(cached_library(N, 3), reference)
    assert len(list(cache.glob("*.npz"))) == 1 and len(list(cache.glob("*.json"))) == 1

    def no_generating(*_, **__):
        raise AssertionError("generated although the cache holds the library")
    monkeypatch.setattr("engine.data.procedural.generate_library", no_generating)
    assert same(cached_library(N, 3), reference)


def test_damaged_or_foreign_cache_files_are_regenerated(cache):
    reference = generate_library(N, seed=1, workers=1)
    cached_library(N, 1)
    npz = next(cache.glob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:1000])                     # truncated
    assert same(cached_library(N, 1), reference)
    json_file = next(cache.glob("*.json"))
    json_file.write_text(json_file.read_text().replace('"offsets": [0,', '"offsets": [5,'))
    assert same(cached_library(N, 1), reference)
    np.savez(npz, joints=np.zeros((3, 22, 3), np.float64))      # wrong dtype and length
    assert same(cached_library(N, 1), reference)


def test_a_change_of_generator_code_or_seed_gets_its_own_entry(cache, monkeypatch):
    cached_library(N, 0)
    cached_library(N, 1)
    monkeypatch.setattr(procedural_cache, "procedural_code_version", lambda: "changed")
    cached_library(N, 0)
    assert len(list(cache.glob("*.npz"))) == 3


def test_the_synthetic_dataset_reads_the_cache_with_the_same_fingerprint(cache):
    first = open_dataset(f"synthetic?n={N}&seed=2")
    second = open_dataset(f"synthetic?n={N}&seed=2")
    assert first.fingerprint() == second.fingerprint()
    assert [c.captions for c in first.clips] == [c.captions for c in second.clips]
    assert np.array_equal(first.motion(first.clips[5].id).joints, second.motion(second.clips[5].id).joints)


def test_a_change_of_generator_code_changes_the_fingerprint(cache, monkeypatch):
    """Indexes and caches are keyed by the fingerprint: new motions under the same captions, labels and lengths
    (a jog's pace) must not be served from the old ones."""
    before = open_dataset(f"synthetic?n={N}&seed=2").fingerprint()
    monkeypatch.setattr(procedural_cache, "procedural_code_version", lambda: "changed")
    assert open_dataset(f"synthetic?n={N}&seed=2").fingerprint() != before
