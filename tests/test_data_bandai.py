"""Bandai archives and folders on a small made archive: safe unpacking, conversion, the cache."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from engine.data import bandai, open_dataset
from engine.errors import InputError
from test_data_bvh_folder import SAMPLES, needs_samples

PREFIX = "dataset/Bandai-Namco-Research-Motiondataset-2/"


def make_archive(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for bvh in sorted(SAMPLES.glob("dataset-2_*.bvh")):
            tar.add(bvh, arcname=PREFIX + "data/" + bvh.name)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@needs_samples
def test_archive_converts_once_then_reads_the_cache(tmp_path, cache, monkeypatch):
    archive = make_archive(tmp_path / "mini.tar.xz", {PREFIX + "README.md": b"docs"})
    dataset = open_dataset(f"bandai:{archive}?workers=1")
    assert len(dataset) == 6 and dataset.failed == {}
    clip = dataset.clip("raise-up-left-hand_elderly_003")
    assert clip.label == {"content": "raise-up-left-hand", "style": "elderly", "side": "left", "action": "raise"}
    assert len(clip.captions) >= 3 and all("left" in c for c in clip.captions)
    assert clip.source.endswith("mini.tar.xz::dataset-2_raise-up-left-hand_elderly_003.bvh")
    motion = dataset.motion(clip.id)
    assert motion.frames == clip.frames and motion.joints.dtype.name == "float32"
    assert not list(cache.rglob("*.bvh"))   # the unpacked text is dropped; the npy files stay

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the cache is complete")
    monkeypatch.setattr(bandai, "convert_all", no_conversion)
    again = open_dataset(f"bandai:{archive}")
    assert again.fingerprint() == dataset.fingerprint()


@needs_samples
def test_folder_source_matches_archive(tmp_path, cache):
    folder = tmp_path / "unpacked" / "data"
    folder.mkdir(parents=True)
    for bvh in SAMPLES.glob("dataset-2_*.bvh"):
        (folder / bvh.name).write_bytes(bvh.read_bytes())
    dataset = open_dataset(f"bandai:{tmp_path / 'unpacked'}?workers=2")   # the process pool path
    assert sorted(c.id for c in dataset.clips)[0] == "raise-up-left-hand_elderly_003"
    assert all(c.source.startswith(str(folder)) for c in dataset.clips)


@pytest.mark.parametrize("evil", ["../escape.bvh", "/tmp/absolute.bvh"])
def test_unsafe_archive_members_are_rejected(tmp_path, cache, evil):
    archive = tmp_path / "evil.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        info = tarfile.TarInfo(evil)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(InputError, match="unsafe path"):
        open_dataset(f"bandai:{archive}")
    assert not (tmp_path / "escape.bvh").exists()


def test_not_an_archive(tmp_path, cache):
    junk = tmp_path / "junk.tar.xz"
    junk.write_bytes(b"not xz at all")
    with pytest.raises(InputError, match="cannot unpack"):
        open_dataset(f"bandai:{junk}")


def test_cache_dir_and_atomic_writes(tmp_path, cache):
    from engine.atomic import atomic_save_npy
    from engine.data.cache import cache_dir, cache_key
    import numpy as np

    assert cache_dir() == cache and cache.is_dir()
    assert cache_key("a", 1) == cache_key("a", 1) != cache_key("a", 2)
    target = atomic_save_npy(cache / "x" / "a.npy", np.arange(6, dtype=np.float32))
    assert np.load(target).tolist() == [0, 1, 2, 3, 4, 5]
    assert [p.name for p in target.parent.iterdir()] == ["a.npy"]   # no temporary left behind


@needs_samples
def test_a_reader_that_fails_everywhere_is_not_cached(tmp_path, cache, monkeypatch):
    archive = make_archive(tmp_path / "mini.tar.xz")
    monkeypatch.setattr(bandai, "convert_take", lambda job: (job[0], 0, "InputError: broken reader"))
    with pytest.raises(InputError, match="no take could be converted"):
        open_dataset(f"bandai:{archive}?workers=1")
    assert not list(cache.rglob("manifest.json"))
