"""`humanml3d:/path` and `kitml:/path`: the HumanML3D / KIT-ML folders as distributed.

    new_joints/<id>.npy      joint positions (T, 22, 3) for HumanML3D, (T, 21, 3) for KIT-ML
    texts/<id>.txt           one caption a line: caption#tokens#start#end (seconds; 0.0 = whole clip)
    train.txt val.txt test.txt   ids, one a line

Captions with a start/end describe only that part of the motion: they become a sub-clip
`<id>@<start>-<end>` that crops the motion (as HumanML3D's own loader does).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import InputError, SpecError
from ..motion import Motion
from ..skeleton import FPS
from .clip import SPLITS, Clip, resampled_frames
from .dataset import Dataset
from .splits import assign_splits

MIN_SUBCLIP_FRAMES = 10   # shorter caption ranges are annotation noise


def npy_frames(path: Path) -> int:
    """Number of frames from the .npy header alone (no data read)."""
    try:   # a memory map reads the header only
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (ValueError, OSError) as err:
        raise InputError(path, f"not a readable .npy array ({err})") from None
    if len(shape) != 3:
        raise InputError(path, f"expected joint positions (T, J, 3), got shape {shape}")
    return int(shape[0])


def read_captions(path: Path) -> dict[tuple[float, float], list[str]]:
    """{(start, end): [captions]}; (0, 0) is the whole clip."""
    ranges: dict[tuple[float, float], list[str]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split("#")
        if not parts[0].strip():
            continue
        try:
            start, end = (float(parts[2]), float(parts[3])) if len(parts) >= 4 else (0.0, 0.0)
        except ValueError:
            start, end = 0.0, 0.0
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            start, end = 0.0, 0.0
        ranges[(start, end)].append(parts[0].strip())
    return ranges


def read_split_lists(root: Path) -> dict[str, str]:
    split_of = {}
    for name in SPLITS:
        path = root / f"{name}.txt"
        if path.is_file():
            for line in path.read_text().split():
                split_of[line.strip()] = name
    return split_of


class HumanML3DDataset(Dataset):
    name = "humanml3d"
    source_fps = 20.0          # HumanML3D's new_joints are at 20 fps; KIT-ML's at 12.5

    def __init__(self, spec: str, root: str | Path):
        super().__init__(spec)
        self.root = Path(root)
        joints_dir, texts_dir = self.root / "new_joints", self.root / "texts"
        for folder in (joints_dir, texts_dir):
            if not folder.is_dir():
                raise SpecError(f"{spec}: {folder} is missing (expected a {self.name} folder "
                                "with new_joints/, texts/ and train/val/test.txt)")
        split_of = read_split_lists(self.root)
        ids = sorted(split_of) if split_of else sorted(p.stem for p in joints_dir.glob("*.npy"))
        if not split_of:   # no split lists: deterministic hash splits
            split_of = assign_splits(ids)
        self.skipped: list[str] = []
        for item_id in ids:
            npy, txt = joints_dir / f"{item_id}.npy", texts_dir / f"{item_id}.txt"
            if not npy.is_file() or not txt.is_file():
                self.skipped.append(item_id)
                continue
            self.clips.extend(self._clips_of(item_id, npy, txt, split_of[item_id]))

    def _clips_of(self, item_id: str, npy: Path, txt: Path, split: str) -> list[Clip]:
        total = resampled_frames(npy_frames(npy), self.source_fps)   # frames at 20 fps
        clips = []
        for (start, end), captions in sorted(read_captions(txt).items()):
            if (start, end) == (0.0, 0.0):
                clip_id, frames, crop = item_id, total, {}
            else:   # the same frame arithmetic as Dataset.crop
                first, last = round(start * FPS), min(round(end * FPS), total)
                frames = last - first
                if frames < MIN_SUBCLIP_FRAMES:
                    continue
                clip_id, crop = f"{item_id}@{start:g}-{end:g}", {"start_s": start, "end_s": end}
            clips.append(Clip(id=clip_id, captions=captions, label=None, split=split, source=str(npy),
                              frames=frames, duration_s=round(frames / FPS, 3), **crop))
        return clips

    def _load(self, clip: Clip) -> Motion:
        from ..motion_io import load_motion
        return load_motion(clip.source)

    def source_fingerprint(self) -> str:
        # Names and sizes of the motion files: stable when the folder is copied elsewhere.
        files = sorted((self.root / "new_joints").glob("*.npy"))
        return f"{self.name}:{len(files)}:" + str(sum(p.stat().st_size for p in files))


class KITMLDataset(HumanML3DDataset):
    name = "kitml"
    source_fps = 12.5
