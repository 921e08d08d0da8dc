"""Engine facade: dataset specs, the library listing, clips, uploaded files and their errors."""
import threading
from pathlib import Path

import numpy as np
import pytest

from engine import Engine
from engine.errors import InputError, MotionLexError, SpecError

SPEC = "synthetic?n=24&seed=3"   # small: the procedural library is generated in well under a second
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"


@pytest.fixture(scope="module")
def engine():
    return Engine(data=SPEC)


def test_datasets_lists_the_users_spec_first(engine, monkeypatch):
    specs = engine.datasets()
    assert specs[0] == SPEC and "synthetic" in specs
    assert len(specs) == len(set(specs))
    monkeypatch.setenv("MOTIONLEX_DATASETS", "bvh:/a/b?labels=x.csv; humanml3d:/h,kitml:/k ;")
    assert engine.datasets()[-2:] == ["bvh:/a/b?labels=x.csv", "humanml3d:/h,kitml:/k"]


def test_library_rows(engine):
    rows = engine.library(SPEC)
    assert len(rows) == 24
    assert set(rows[0]) == {"id", "caption", "captions", "split", "duration_s", "frames", "label"}
    assert all(r["caption"] == r["captions"][0] and r["frames"] > 0 for r in rows)
    assert {r["split"] for r in rows} <= {"train", "val", "test"}
    assert len(engine.library(SPEC, limit=5)) == 5


def test_library_filters_by_words_and_split(engine):
    rows = engine.library(SPEC)
    word = rows[0]["caption"].split()[1].strip(",.").lower()
    hits = engine.library(SPEC, query=word.upper())
    assert hits and all(any(word in c.lower() for c in r["captions"]) for r in hits)
    for split in ("train", "val", "test"):
        assert all(r["split"] == split for r in engine.library(SPEC, split=split))
    assert len(engine.library(SPEC, split="all")) == 24
    assert engine.library(SPEC, query="zzzunknownword") == []
    with pytest.raises(SpecError, match="unknown split"):
        engine.library(SPEC, split="holdout")


def test_clip_motion_matches_its_row(engine):
    row = engine.library(SPEC)[3]
    motion = engine.clip(SPEC, row["id"])
    assert motion.joints.shape == (row["frames"], 22, 3) and motion.joints.dtype == np.float32
    with pytest.raises(MotionLexError, match="no clip"):
        engine.clip(SPEC, "no-such-clip")


def test_datasets_are_opened_once_even_from_many_threads():
    engine, got = Engine(), []
    threads = [threading.Thread(target=lambda: got.append(engine.dataset("synthetic?n=8"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(d is got[0] for d in got)
    assert engine.dataset(" synthetic?n=8 ") is got[0]


@pytest.mark.parametrize("spec", ["nonsense:/x", "bvh:/definitely/not/here", "synthetic?n=abc", ""])
def test_bad_specs_raise_a_readable_error(engine, spec):
    with pytest.raises(MotionLexError) as err:
        engine.library(spec) if spec else Engine(data="nope").library("")
    assert str(err.value)


def test_load_file_npy(tmp_path, engine):
    rng = np.random.default_rng(0)
    joints = (rng.normal(size=(30, 22, 3)) * 0.1 + [0, 1, 0]).astype(np.float32)
    path = tmp_path / "made.npy"
    np.save(path, joints)
    motion = engine.load_file(path)
    assert motion.joints.shape == (30, 22, 3) and motion.meta["format"] == "npy"


@pytest.mark.parametrize("name,content,problem", [
    ("broken.bvh", b"HIERARCHY\nROOT Hips\n{ nonsense", ""),
    ("empty.npy", b"", ""),
    ("notes.txt", b"hello", "unsupported file type"),
])
def test_load_file_errors_name_the_file(tmp_path, engine, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        engine.load_file(path)
    assert name in str(err.value) and problem in str(err.value)


def test_load_file_refuses_pickles(tmp_path, engine):
    path = tmp_path / "pickled.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError):
        engine.load_file(path)


@pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/data/samples is absent (team machines only)")
def test_load_file_sample_bvh_reports_mapped_joints(engine):
    motion = engine.load_file(SAMPLES / "dataset-2_walk_normal_001.bvh")
    assert motion.meta["format"] == "bvh" and motion.meta["mapped_joints"]["l_wrist"]
    assert 1.3 < motion.height_m < 2.1
