"""dataset-stats: the numbers on a known fixture, the CLI verb, and the synthetic dataset."""
from __future__ import annotations

import json

from engine.__main__ import main
from engine.data import open_dataset
from engine.data.stats import dataset_stats
from test_data_humanml3d import make_humanml3d_folder


def test_stats_on_a_known_folder(tmp_path):
    stats = dataset_stats(open_dataset(f"humanml3d:{make_humanml3d_folder(tmp_path / 'h')}"))
    assert stats["clips"] == 4 and stats["captions"] == 5
    assert stats["duration_s"] == {"total": 14.0, "mean": 3.5, "min": 2.0, "max": 5.0}  # 5 + 2 + 3 + 4
    assert stats["splits"] == {"train": 3, "val": 1, "test": 0}
    assert stats["sides"] == {"left": 1, "right": 1, "both": 0}
    assert stats["caption_length"] == {"mean": 5.0, "min": 4, "max": 6}
    top = dict(stats["top_terms"])
    assert top["walks"] == 3 and top["person"] == 3 and "the" not in top and "a" not in top
    # a, person, walks, forward, someone, slowly, ahead, the, takes, two, steps, to, left, man,
    # raises, his, right, hand
    assert stats["vocabulary"] == 18


def test_cli_json_and_errors(tmp_path, capsys):
    root = make_humanml3d_folder(tmp_path / "h")
    assert main(["dataset-stats", f"humanml3d:{root}", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["clips"] == 4 and printed["spec"] == f"humanml3d:{root}"
    assert main(["dataset-stats", "mocap:/nowhere"]) == 2
    assert "unknown dataset scheme 'mocap'" in capsys.readouterr().err


def test_synthetic_dataset_is_deterministic():
    first, again = open_dataset("synthetic?n=40&seed=1"), open_dataset("synthetic?n=40&seed=1")
    assert first.fingerprint() == again.fingerprint()
    assert [c.split for c in first.clips] == [c.split for c in again.clips]
    assert first.fingerprint() != open_dataset("synthetic?n=40&seed=2").fingerprint()
    clip = first.clips[0]
    motion = first.motion(clip.id)
    assert motion.frames == clip.frames and motion.joints.shape[1:] == (22, 3) and clip.captions
