"""`Engine`: the one object the app and the CLI talk to.

It owns the opened datasets (each opened once, on first use, and kept) and the loaded checkpoint
(a ModelService, loaded on first use so that browsing a library never pays for torch). Every method either returns plain data / a Motion or raises a MotionLexError whose
message is meant for a person, so a front end can show it as is.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from .errors import InputError, MotionLexError, SpecError
from .motion import MAX_FILE_BYTES, Motion

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
# More dataset specs to offer in the app's menus, separated by ";" (a spec may hold commas).
DATASETS_ENV = "MOTIONLEX_DATASETS"
UPLOAD_SUFFIXES = (".bvh", ".npy", ".amc")


class Engine:
    def __init__(self, checkpoint: str | None = None, data: str = "synthetic"):
        self.checkpoint = str(checkpoint or DEFAULT_CHECKPOINT)
        self._service = None
        self._service_lock = threading.Lock()
        self.data = (data or "synthetic").strip()
        self._datasets: dict = {}
        self._open_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._job = None   # the background TrainingJob (one at a time), see "-- training"

    # -- datasets -----------------------------------------------------------------------
    def datasets(self) -> list[str]:
        """Dataset specs worth offering: the user's --data first, the procedural library, then the specs
        listed in $MOTIONLEX_DATASETS."""
        extra = [s.strip() for s in os.environ.get(DATASETS_ENV, "").split(";") if s.strip()]
        return list(dict.fromkeys([self.data, "synthetic", *extra]))

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

    # -- the model ----------------------------------------------------------------------
    def service(self):
        """The loaded checkpoint (engine.inference.service.ModelService), loaded once."""
        with self._service_lock:
            if self._service is None:
                from .inference.service import ModelService
                self._service = ModelService(self.checkpoint)
            return self._service

    def model_info(self) -> dict:
        return self.service().info()

    def build_index(self, spec: str | None = None, top_k: int | None = 128, progress=None, ship: bool = False) -> dict:
        """Encode a library with the checkpoint and build (or load) its inverted indexes; ship=True saves them
        into the checkpoint folder itself (the shipped default library: a first search with no encoding)."""
        search = self.service().library(self.dataset(spec), top_k, progress)
        captions = search.caption_index(progress)
        where = search.ship(progress) if ship else search.root
        return {"library": self.dataset(spec).spec, "motions": len(search.motions), "captions": len(captions),
                "top_k": top_k, "memory_bytes": search.motions.memory_bytes() + captions.memory_bytes(),
                "saved_in": str(where)}

    def search(self, query: str, spec: str | None = None, keywords: bool = False, k: int = 10,
               query_top_k: int | None = None, top_k: int | None = 128, progress=None, pieces: bool = False) -> dict:
        """Text-to-motion search (free text, or keywords with `word:weight` and `-word`) with explanations."""
        if not query or not query.strip():
            raise MotionLexError("type a query, e.g. 'a person waves the left hand' or keywords 'wave left'")
        service = self.service()
        library = service.library(self.dataset(spec), top_k, progress)
        return service.search(library, query, keywords=keywords, k=k, query_top_k=query_top_k, pieces=pieces)

    def analyse(self, motion: Motion, spec: str | None = None, caption: str | None = None, components: int = 3,
                progress=None) -> dict:
        """Everything the Caption & Explain view shows for one motion, from one encoder pass:
        {"caption": caption(), "explain": explain(), "compare": compare() against `caption` or, when none is
        given, against the generated caption}."""
        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        encoding = service.encode(motion.joints)
        captioned = service.caption(encoding, library, exclude=_own_clip(motion, library))
        text = caption.strip() if caption and caption.strip() else captioned["caption"]
        return {"caption": captioned, "explain": service.explain(encoding, components),
                "compare": service.compare(encoding, text), "compared_with": text}

    def caption(self, motion: Motion, spec: str | None = None, progress=None) -> dict:
        """Caption a motion (mask-predict) with its top terms and the nearest-neighbour baseline caption."""
        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        return service.caption(service.encode(motion.joints), library, exclude=_own_clip(motion, library))

    def motion_to_text(self, motion: Motion, spec: str | None = None, k: int = 5, progress=None) -> list[dict]:
        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        return service.motion_to_text(library, service.encode(motion.joints), k)

    def explain(self, motion: Motion, components: int = 3) -> dict:
        """Word weights of a motion and the PCA intensities of its encoder features (components, T, 22)."""
        service = self.service()
        return service.explain(service.encode(motion.joints), components)

    def text_terms(self, text: str) -> dict[str, float]:
        if not text or not text.strip():
            raise MotionLexError("type a caption to see which words it activates")
        return self.service().text_terms(text)

    def compare(self, motion: Motion, caption: str) -> dict:
        """A motion's words against a caption's: shared score, words only one side has."""
        service = self.service()
        return service.compare(service.encode(motion.joints), caption)

    def evaluate(self, spec: str | None = None, split: str = "test", captioning: bool = True,
                 max_items: int | None = None, progress=None) -> dict:
        """`eval`: retrieval, captioning, lexical fidelity and feature health of the served checkpoint."""
        return self.service().evaluate(self.dataset(spec), split, captioning=captioning, max_items=max_items,
                                       progress=progress)

    def audit(self, spec: str | None = None, progress=None) -> dict:
        return self.service().audit(self.dataset(spec), progress)

    # -- training -----------------------------------------------------------------------
    def start_training(self, data: str, preset: str = "tiny", phases: str = "all", out: str | None = None,
                       overrides: list[str] | None = None, max_minutes: float | None = None) -> str:
        """Start `python -m engine train` in the background (one run at a time); returns the run's id.

        The preset, phases and overrides are checked here first, so a typo is a message now rather
        than a failed run later. out defaults to runs/<timestamp> in the repository.
        """
        from .config import apply_overrides, preset as load_preset
        from .train.run import parse_phases
        from .train.worker import REPO_ROOT, TrainingJob

        if self._job is not None and self._job.running:
            raise MotionLexError(f"a training run is already going ({self._job.out_dir}); cancel it first")
        if not data or not data.strip():
            raise SpecError("give a dataset spec to train on, e.g. synthetic")
        parse_phases(phases or "")                      # raises SpecError on an unknown phase
        overrides = [o.strip() for o in overrides or [] if o.strip()]
        apply_overrides(load_preset(preset), overrides)          # raises SpecError on a bad key or value
        if max_minutes is not None and max_minutes <= 0:
            raise SpecError("max minutes must be positive (or empty for no limit)")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = Path(out).expanduser() if out and out.strip() else Path("runs") / stamp
        if not out_dir.is_absolute():
            out_dir = REPO_ROOT / out_dir
        if (out_dir / "manifest.json").exists():
            raise MotionLexError(f"{out_dir} already holds a trained checkpoint; choose another output folder")
        self._job = TrainingJob(data.strip(), out_dir, preset, phases.strip().lower(), overrides, max_minutes).start()
        return f"{out_dir.name}@{stamp}"

    def training_status(self) -> dict:
        """The current run's state ("idle" without one), phase, step / total steps, last metrics, log tail."""
        if self._job is None:
            return {"state": "idle"}
        return {**self._job.status(), "log_tail": self._job.log_tail(40)}

    def cancel_training(self) -> dict:
        if self._job is None or not self._job.running:
            raise MotionLexError("no training run is going")
        self._job.cancel()
        return self.training_status()

    def training_metrics(self, out: str | None = None) -> list[dict]:
        """Records of a run's metrics.jsonl (the current run's when out is None)."""
        from .train.worker import TrainingJob

        if out is None:
            return self._job.metrics() if self._job is not None else []
        return TrainingJob("-", out).metrics()

    def use_checkpoint(self, path: str | os.PathLike) -> dict:
        """Serve another checkpoint from now on (e.g. the one just trained); returns its info."""
        from .inference.service import ModelService

        service = ModelService(path)   # raises InputError when it is not a checkpoint folder
        with self._service_lock:
            self._service, self.checkpoint = service, str(path)
        return service.info()

    # -- files --------------------------------------------------------------------------
    def load_file(self, path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> Motion:
        """An uploaded or local motion file (.bvh, .npy or CMU's .amc) as a canonical Motion.

        mapping: an optional JSON file {"canonical_joint": "RigJointName"} for unusual BVH rigs, or the
        .asf skeleton of an .amc (found beside it when not given).
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


def _own_clip(motion: Motion, library) -> str | None:
    """A library clip's id when the motion is one (a clip is not its own captioning neighbour)."""
    return motion.name if motion.name in library.clips else None


def clip_row(clip) -> dict:
    """The plain-data view of a Clip that tables and JSON output show."""
    return {"id": clip.id, "caption": clip.captions[0] if clip.captions else "", "captions": list(clip.captions),
            "split": clip.split, "duration_s": round(float(clip.duration_s), 2), "frames": int(clip.frames),
            "label": clip.label}
