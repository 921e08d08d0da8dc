"""`Engine`: the one object the app and the CLI talk to.

It owns the opened datasets (each opened once, on first use, and kept) and, later, the loaded
checkpoint. Every method either returns plain data / a Motion or raises a MotionLexError whose
message is meant for a person, so a front end can show it as is.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from .errors import InputError, MotionLexError, SpecError
from .motion import MAX_FILE_BYTES, Motion

# ../shared/data from the repository root: present on the team's machines, absent on a user's.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BANDAI_ARCHIVE = SHARED_DATA / "bandai" / "bandai-namco-dataset-2-bvh.tar.xz"
UPLOAD_SUFFIXES = (".bvh", ".npy")


class Engine:
    def __init__(self, checkpoint: str | None = None, data: str = "synthetic"):
        self.checkpoint = checkpoint
        self.data = (data or "synthetic").strip()
        self._datasets: dict = {}
        self._open_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- datasets -----------------------------------------------------------------------
    def datasets(self) -> list[str]:
        """Dataset specs worth offering: the user's --data first, then what this machine has."""
        specs = [self.data, "synthetic"]
        if BANDAI_ARCHIVE.exists():
            specs.append(f"bandai:{BANDAI_ARCHIVE}")
        return list(dict.fromkeys(specs))

    def dataset(self, spec: str | None = None):
        """The opened Dataset for a spec, opened once per Engine.

        One lock per spec: Gradio runs handlers on worker threads, and a second request for a
        dataset that is still being opened (the Bandai archive takes minutes) must wait for the
        first instead of converting it twice; other specs are not held up meanwhile.
        """
        spec = (spec or self.data).strip()
        if spec in self._datasets:
            return self._datasets[spec]
        with self._locks_guard:
            lock = self._open_locks.setdefault(spec, threading.Lock())
        with lock:
            if spec not in self._datasets:
                from .data import open_dataset
                try:
                    self._datasets[spec] = open_dataset(spec)
                except MotionLexError:
                    raise
                except OSError as err:  # unreadable folder, permission, truncated archive
                    raise SpecError(f"cannot open dataset {spec!r}: {err}") from None
        return self._datasets[spec]

    def library(self, spec: str | None = None, query: str = "", split: str | None = None,
                limit: int = 200) -> list[dict]:
        """Clips of a dataset as rows: filtered by caption words and split, at most `limit` of them."""
        ds = self.dataset(spec)
        clips = ds.search_captions(query) if query and query.strip() else ds.clips
        if split and split != "all":
            if split not in ("train", "val", "test"):
                raise SpecError(f"unknown split {split!r}; expected all, train, val or test")
            clips = [c for c in clips if c.split == split]
        return [clip_row(c) for c in clips[:max(0, int(limit))]]

    def clip_info(self, spec: str | None, clip_id: str) -> dict:
        return clip_row(self.dataset(spec).clip(clip_id))

    def clip(self, spec: str | None, clip_id: str) -> Motion:
        return self.dataset(spec).motion(clip_id)

    # -- files --------------------------------------------------------------------------
    def load_file(self, path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> Motion:
        """An uploaded or local motion file (.bvh or .npy) as a canonical Motion.

        mapping: an optional JSON file {"canonical_joint": "RigJointName"} for unusual BVH rigs.
        """
        path = Path(path)
        if path.suffix.lower() not in UPLOAD_SUFFIXES:
            raise InputError(path.name, f"unsupported file type {path.suffix or '(none)'!r}; "
                                        f"expected one of {', '.join(UPLOAD_SUFFIXES)}")
        if not path.is_file():
            raise InputError(path.name, "file not found")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(path.name, f"{path.stat().st_size / 1e6:.0f} MB is more than the limit of "
                                        f"{MAX_FILE_BYTES / 1e6:.0f} MB")
        from .motion_io import load_motion
        try:
            return load_motion(path, mapping)
        except MotionLexError:
            raise
        except (ValueError, IndexError, KeyError, UnicodeDecodeError, OSError) as err:
            # A reader tripping over a malformed file is the file's fault, not a crash.
            raise InputError(path.name, f"cannot read this file ({type(err).__name__}: {err})") from None


def clip_row(clip) -> dict:
    """The plain-data view of a Clip that tables and JSON output show."""
    return {"id": clip.id, "caption": clip.captions[0] if clip.captions else "", "captions": list(clip.captions),
            "split": clip.split, "duration_s": round(float(clip.duration_s), 2), "frames": int(clip.frames),
            "label": clip.label}
