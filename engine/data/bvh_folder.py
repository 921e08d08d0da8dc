"""`bvh:/folder[?labels=file.csv][&mapping=file.json]`: a folder of BVH files of any rig.

Captions come from the file names by default (`walk_fast_01.bvh` -> "walk fast"), or from a CSV of
`filename,caption` rows (several rows per file give several captions; a header row is allowed).
Motions are read lazily by motion_io (joint-name rules, or the user's mapping file).

A spec reads nothing outside the folder it names: the folder is walked without following symbolic
links to other folders, a .bvh that is a symbolic link is used only when it points inside the folder,
files that cannot be read (permissions, broken links, not regular files) are left out, and the labels
and mapping files must be inside the folder too. What was left out, and why, is in `skipped` and, when
nothing is left, in the error.
"""
from __future__ import annotations

import csv
import os
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
MAX_ENTRIES = 200_000    # files and folders walked under a spec's folder (`bvh:/` must not walk a whole disk)
MAX_FILES = 20_000       # .bvh files in one dataset (Bandai's largest set has 2,902)


def caption_from_name(stem: str, shared: tuple[str, ...] = ()) -> str:
    """`walk_fast_01` -> "walk fast": separators become spaces, bare numbers are dropped, and so are the leading
    words `shared` by every file name of the folder (`dataset-2_walk_...`, `dataset-2_run_...`: "dataset")."""
    words = _name_words(stem)
    if shared and tuple(words[:len(shared)]) == shared and len(words) > len(shared):
        words = words[len(shared):]
    return " ".join(words) or stem


def _name_words(stem: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-.]+", stem.lower()) if w and not w.isdigit()]


def shared_leading_words(stems: list[str]) -> tuple[str, ...]:
    """The leading words every one of two or more file names starts with (none for a single file)."""
    if len(stems) < 2:
        return ()
    names = [_name_words(s) for s in stems]
    shared = []
    for column in zip(*names):
        if len(set(column)) > 1:
            break
        shared.append(column[0])
    return tuple(shared)


def list_bvh_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """({clip id: path} of the readable .bvh files inside `folder`, [why each other one was left out]).

    Walks without following symbolic links to folders; a symbolic link to a file is kept only when it
    resolves inside the folder; ids are paths relative to the folder without the suffix."""
    root = folder.resolve()
    found, skipped = [], []

    def unlisted(err: OSError) -> None:
        skipped.append(f"{_relative(Path(err.filename or root), root)}/: cannot be listed ({err.strerror})")

    entries = 0
    for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted, followlinks=False):
        entries += len(dirnames) + len(filenames)
        if entries > MAX_ENTRIES or len(found) > MAX_FILES:
            raise SpecError(f"{folder} holds more than {MAX_ENTRIES} files and folders or {MAX_FILES} .bvh files, "
                            "the limit: name the folder of the motions themselves")
        here = Path(dirpath)
        for name in dirnames:
            if (here / name).is_symlink():
                skipped.append(f"{_relative(here / name, root)}/: a symbolic link to a folder (not followed)")
        for name in filenames:
            path = here / name
            if not name.lower().endswith(".bvh"):
                continue
            rel = _relative(path, root)
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    skipped.append(f"{rel}: a broken symbolic link")
                    continue
                if not target.is_relative_to(root):
                    skipped.append(f"{rel}: a symbolic link to a file outside the folder (not read)")
                    continue
            if not path.is_file():
                skipped.append(f"{rel}: not a regular file")
            elif not os.access(path, os.R_OK):
                skipped.append(f"{rel}: cannot be read (permission denied)")
            else:
                found.append(path)
    files = {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(found)}
    return files, sorted(skipped)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def inside_folder(folder: Path, name: str, what: str, spec: str) -> Path:
    """The path of a labels or mapping file named in a spec, which must be inside the folder."""
    root = folder.resolve()
    path = Path(name) if Path(name).is_absolute() else root / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise SpecError(f"{spec}: {what} file {name} does not exist in {folder}") from None
    if not resolved.is_relative_to(root):
        raise SpecError(f"{spec}: the {what} file {name} is outside the folder {folder} (or a symbolic link out of "
                        "it); a bvh: spec reads nothing outside its folder, so put the file in it")
    if not resolved.is_file():
        raise SpecError(f"{spec}: the {what} file {name} is not a regular file")
    return resolved


def bvh_header(path: Path) -> tuple[int, float]:
    """(frames, fps) from the MOTION header without reading the data."""
    with open(path, "rb") as handle:
        head = handle.read(HEADER_LIMIT).decode("latin-1")
    frames = re.search(r"Frames:\s*(\d+)", head)
    frame_time = re.search(r"Frame Time:\s*([0-9.eE+-]+)", head)
    if not frames or not frame_time:
        raise InputError(path, "no 'Frames:' / 'Frame Time:' lines in the first MB: not a BVH file?")
    try:
        seconds = float(frame_time.group(1))
    except ValueError:
        raise InputError(path, f"Frame Time {frame_time.group(1)[:20]} is not a number") from None
    if not seconds > 0:
        raise InputError(path, f"Frame Time must be positive, got {frame_time.group(1)[:20]}")
    return int(frames.group(1)), 1.0 / seconds


def read_label_csv(path: Path, folder: Path, known: set[str]) -> dict[str, list[str]]:
    """{clip id: [captions]} from `filename,caption` rows; file names are relative to the folder."""
    captions: dict[str, list[str]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row_no, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip() or (row_no == 1 and row[0].strip().lower() == "filename"):
                continue
            if len(row) < 2 or not row[1].strip():
                raise InputError(path, f"row {row_no}: expected `filename,caption`, got {str(row)[:80]}")
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
        self.mapping = str(inside_folder(self.folder, mapping, "mapping", spec)) if mapping else None
        files, self.skipped = list_bvh_files(self.folder)
        if not files:
            left_out = f" ({len(self.skipped)} left out: {'; '.join(self.skipped[:5])})" if self.skipped else ""
            raise SpecError(f"{spec}: no .bvh files to read in {self.folder}{left_out}")
        csv_captions = {}
        if labels:
            labels_path = inside_folder(self.folder, labels, "labels", spec)
            csv_captions = read_label_csv(labels_path, self.folder, set(files))
        shared = shared_leading_words([Path(i).name for i in files])
        captions = {i: csv_captions.get(i) or [caption_from_name(Path(i).name, shared)] for i in files}
        splits = assign_splits(files, group_of=lambda i: captions[i][0])
        for clip_id, path in files.items():
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InputError(path, f"file is larger than {MAX_FILE_BYTES >> 20} MB")
            try:
                header = bvh_header(path)
            except PermissionError as err:   # os.access can say yes where opening says no (ACLs, root squash)
                self.skipped.append(f"{clip_id}.bvh: cannot be read ({err.strerror})")
                continue
            frames = resampled_frames(*header)
            self.clips.append(Clip(id=clip_id, captions=captions[clip_id], label=None, split=splits[clip_id],
                                   source=str(path), frames=frames, duration_s=round(frames / FPS, 3)))

    def _load(self, clip: Clip) -> Motion:
        from ..motion_io import load_motion
        return load_motion(clip.source, mapping=self.mapping)

    def source_fingerprint(self) -> str:
        sizes = sorted((c.id, Path(c.source).stat().st_size) for c in self.clips)
        return f"bvh:{self.mapping and Path(self.mapping).name}:{sizes}"
