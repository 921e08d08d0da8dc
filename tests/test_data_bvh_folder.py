"""A folder of BVH files: captions from names or from a CSV, header-only clip lengths."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.data import open_dataset
from engine.data.bvh_folder import caption_from_name, shared_leading_words
from engine.errors import InputError, SpecError

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real sample BVHs not found at {SAMPLES}")


def copy_samples(dest: Path, names: dict[str, str]) -> Path:
    """Copy sample takes under new names (the sample files stay outside the repository)."""
    dest.mkdir(parents=True, exist_ok=True)
    for new, old in names.items():
        (dest / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / old, dest / new)
    return dest


def test_caption_from_name():
    assert caption_from_name("walk_fast_01") == "walk fast"
    assert caption_from_name("Raise-Left-Hand 3") == "raise left hand"


def test_words_every_file_name_shares_are_left_out_of_captions():
    stems = ["dataset-2_raise-up-left-hand_elderly_003", "dataset-2_walk_normal_001", "dataset-2_run_active_002"]
    shared = shared_leading_words(stems)
    assert shared == ("dataset",)
    assert caption_from_name(stems[0], shared) == "raise up left hand elderly"
    assert shared_leading_words(["walk_01"]) == () and shared_leading_words(["walk_fast", "walk_slow"]) == ("walk",)
    assert caption_from_name("walk", ("walk",)) == "walk"          # never an empty caption


@needs_samples
def test_a_folder_of_bandai_files_gets_captions_without_their_common_prefix(tmp_path):
    folder = copy_samples(tmp_path / "bandai", {
        "dataset-2_walk_normal_001.bvh": "dataset-2_walk_normal_001.bvh",
        "dataset-2_raise-up-left-hand_elderly_003.bvh": "dataset-2_raise-up-left-hand_elderly_003.bvh",
    })
    captions = sorted(c.captions[0] for c in open_dataset(f"bvh:{folder}").clips)
    assert captions == ["raise up left hand elderly", "walk normal"]


@needs_samples
def test_names_csv_and_lazy_motion(tmp_path):
    folder = copy_samples(tmp_path / "mocap", {
        "walk_fast_01.bvh": "dataset-2_walk_normal_001.bvh",
        "sub/raise_hand_02.bvh": "dataset-2_raise-up-left-hand_elderly_003.bvh",
    })
    dataset = open_dataset(f"bvh:{folder}")
    by_id = {c.id: c for c in dataset.clips}
    assert by_id["walk_fast_01"].captions == ["walk fast"]
    assert by_id["sub/raise_hand_02"].captions == ["raise hand"]
    motion = dataset.motion("walk_fast_01")
    assert motion.frames == by_id["walk_fast_01"].frames   # header arithmetic == real resample
    assert 1.0 < motion.height_m < 2.1

    (folder / "labels.csv").write_text("filename,caption\nwalk_fast_01.bvh,a person walks briskly\n"
                                       "walk_fast_01.bvh,\"someone walks, fast\"\n"
                                       "sub/raise_hand_02.bvh,an old man raises his left hand\n")
    labelled = open_dataset(f"bvh:{folder}?labels=labels.csv")
    by_id = {c.id: c for c in labelled.clips}
    assert by_id["walk_fast_01"].captions == ["a person walks briskly", "someone walks, fast"]
    assert labelled.fingerprint() != dataset.fingerprint()

    (folder / "bad.csv").write_text("run_03.bvh,a person runs\n")
    with pytest.raises(InputError, match="run_03.bvh is not a .bvh file"):
        open_dataset(f"bvh:{folder}?labels=bad.csv")
    with pytest.raises(SpecError, match="labels file"):
        open_dataset(f"bvh:{folder}?labels=missing.csv")


def test_empty_folder_and_broken_header(tmp_path):
    with pytest.raises(SpecError, match="no .bvh files"):
        open_dataset(f"bvh:{tmp_path}")
    (tmp_path / "junk.bvh").write_text("HIERARCHY\nROOT x\n{\n")
    with pytest.raises(InputError, match="junk.bvh"):
        open_dataset(f"bvh:{tmp_path}")
