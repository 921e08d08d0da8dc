"""`bvh:/folder[?labels=file.csv][&mapping=file.json]`: a folder of BVH files of any rig.

Captions come from the file names by default (`walk_fast_01.bvh` -> "walk fast"), or from a CSV of
`filename,caption` rows (several rows per file give several captions; a header row is allowed).
Motions are read lazily by motion_io (joint-name rules, or the user's mapping file).
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from ..errors import InputError, SpecError
from ..motion import MAX_FILE_BYTES, Motion
from ..skeleton import FPS
from .clip import Clip, resampled_frames
from .dataset import Dataset
from .splits import assign_splits

HEADER_LIMIT = 1 << 20   # the HIERARCHY of any real rig fits in 1 MB


def caption_from_name(stem: str) -> str:
    """`walk_fast_01` -> "walk fast": separators become spaces, bare numbers are dropped."""
    words = [w for w in re.split(r"[\s_\-.]+", stem) if w and not w.isdigit()]
    return " ".join(words).lower() or stem


def bvh_header(path: Path) -> tuple[int, float]:
    """(frames, fps) from the MOTION header without reading the data."""
    with open(path, "rb") as handle:
        head = handle.read(HEADER_LIMIT).decode("latin-1")
    frames = re.search(r"Frames:\s*(\d+)", head)
    frame_time = re.search(r"Frame Time:\s*([0-9.eE+-]+)", head)
    if not frames or not frame_time:
        raise InputError(path, "no 'Frames:' / 'Frame Time:' lines in the first MB: not a BVH file?")
    if float(frame_time.group(1)) <= 0:
        raise InputError(path, f"Frame Time must be positive, got {frame_time.group(1)}")
    return int(frames.group(1)), 1.0 / float(frame_time.group(1))


def read_label_csv(path: Path, folder: Path, known: set[str]) -> dict[str, list[str]]:
    """{clip id: [captions]} from `filename,caption` rows; file names are relative to the folder."""
    captions: dict[str, list[str]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row_no, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip() or (row_no == 1 and row[0].strip().lower() == "filename"):
                continue
            if len(row) < 2 or not row[1].strip():
                raise InputError(path, f"row {row_no}: expected `filename,caption`, got {row!r}")
            name = row[0].strip().replace("\\", "/")
            clip_id = name[:-4] if name.lower().endswith(".bvh") else name
            if clip_id not in known:
                raise InputError(path, f"row {row_no}: {name} is not a .bvh file in {folder}")
            captions[clip_id].append(",".join(row[1:]).strip())
    return captions


class BvhFolderDataset(Dataset):
    name = "bvh"

    def __init__(self, spec: str, folder: str | Path, labels: str | None = None, mapping: str | None = None):
        super().__init__(spec)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SpecError(f"{spec}: {self.folder} is not a folder")
        self.mapping = mapping
        files = {p.relative_to(self.folder).with_suffix("").as_posix(): p
                 for p in sorted(self.folder.rglob("*")) if p.suffix.lower() == ".bvh" and p.is_file()}
        if not files:
            raise SpecError(f"{spec}: no .bvh files in {self.folder}")
        csv_captions = {}
        if labels:
            labels_path = Path(labels) if Path(labels).is_absolute() else self.folder / labels
            if not labels_path.is_file():
                raise SpecError(f"{spec}: labels file {labels_path} does not exist")
            csv_captions = read_label_csv(labels_path, self.folder, set(files))
        captions = {i: csv_captions.get(i) or [caption_from_name(Path(i).name)] for i in files}
        splits = assign_splits(files, group_of=lambda i: captions[i][0])
        for clip_id, path in files.items():
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InputError(path, f"file is larger than {MAX_FILE_BYTES >> 20} MB")
            frames = resampled_frames(*bvh_header(path))
            self.clips.append(Clip(id=clip_id, captions=captions[clip_id], label=None, split=splits[clip_id],
                                   source=str(path), frames=frames, duration_s=round(frames / FPS, 3)))

    def _load(self, clip: Clip) -> Motion:
        from ..motion_io import load_motion
        return load_motion(clip.source, mapping=self.mapping)

    def source_fingerprint(self) -> str:
        sizes = sorted((c.id, Path(c.source).stat().st_size) for c in self.clips)
        return f"bvh:{self.mapping and Path(self.mapping).name}:{sizes}"
