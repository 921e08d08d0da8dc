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
from .facade_runs import RunsMixin
from .facade_views import ViewsMixin, own_clip
from .motion import MAX_FILE_BYTES, Motion

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
# More dataset specs to offer in the app's menus, separated by ";" (a spec may hold commas).
DATASETS_ENV = "MOTIONLEX_DATASETS"
UPLOAD_SUFFIXES = (".bvh", ".npy", ".amc")


class Engine(ViewsMixin, RunsMixin):
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
                except (OSError, ValueError) as err:  # unreadable folder, permission, truncated archive, a
                    # malformed file a dataset reads while opening (ValueError includes UnicodeDecodeError)
                    raise SpecError(f"cannot open dataset {spec!r}: {str(err)[:300]}") from None
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
                from .blas_threads import blas_on_one_thread
                from .inference.service import ModelService
                blas_on_one_thread()   # a serving process: small numpy requests beside torch (blas_threads.py)
                self._service = ModelService(self.checkpoint)
            return self._service

    def model_info(self) -> dict:
        return self.service().info()

    def warm_up(self, spec: str | None = None) -> None:
        """Pay every first-request cost once, ahead of the user (the app calls it in the background at start):
        open the library, load the model and the library's index, count the library's caption n-grams for
        neighbour guidance, and run one keyword search and one caption so torch's lazy set-up is done too."""
        dataset = self.dataset(spec)
        self.search("walk", spec, keywords=True)
        if dataset.clips:
            self.caption(self.clip(spec, dataset.clips[0].id), spec)

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
        return service.search(library, query, keywords=keywords, k=k, query_top_k=query_top_k, pieces=pieces,
                              progress=progress)

    def analyse(self, motion: Motion, spec: str | None = None, caption: str | None = None, components: int = 3,
                progress=None) -> dict:
        """Everything the Caption & Explain view shows for one motion, from one encoder pass:
        {"caption": caption(), "explain": explain(), "compare": compare() against `caption` or, when none is
        given, against the generated caption}."""
        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        encoding = service.encode(motion.joints)
        captioned = service.caption(encoding, library, exclude=own_clip(motion, library))
        text = caption.strip() if caption and caption.strip() else captioned["caption"]
        return {"caption": captioned, "explain": service.explain(encoding, components),
                "compare": service.compare(encoding, text), "compared_with": text}

    def caption(self, motion: Motion, spec: str | None = None, progress=None) -> dict:
        """Caption a motion (mask-predict) with its top terms and the nearest-neighbour baseline caption."""
        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        return service.caption(service.encode(motion.joints), library, exclude=own_clip(motion, library))

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
        from .evaluation.evaluate import evaluate
        return evaluate(self.service(), self.dataset(spec), split, captioning=captioning, max_items=max_items,
                        progress=progress)

    # -- generation ---------------------------------------------------------------------
    def generation(self):
        """The served checkpoint's generators (engine.inference.generate.GenerationService), loaded once per
        served checkpoint; a trained generator is only ever loaded, never retrained."""
        service = self.service()
        with self._service_lock:
            current = getattr(self, "_generation", None)
            if current is None or current.service is not service:
                from .inference.generate import GenerationService
                current = self._generation = GenerationService(service)
            return current

    def generators(self) -> list[str]:
        """Names of the generators the served checkpoint holds ("base", "sopo", ...), base first."""
        return self.generation().available()

    def generate(self, prompt: str, model: str = "base", seconds: float | None = None, seed: int = 0,
                 steps: int = 50, guidance: float = 2.5, word_weights=None, smoothing: float | None = None,
                 foot_lock: bool | None = None) -> dict:
        """Text to motion: {"joints" (T, 22, 3) canonical, "frames", "seconds", "reward" (the lexical model's
        score), "evaluator_score", "physical", "timings", ...}. seconds=None lets the length head choose;
        word_weights ({word: weight} or "walk:2 -run") steer the lexical condition word by word; smoothing is
        the output filter in frames (None: the generator's own, 0: the raw output); foot_lock holds planted feet
        (None: the generator's own)."""
        return self.generation().generate(prompt, model, seconds, seed, steps, guidance, word_weights, smoothing,
                                          foot_lock)

    def generate_pair(self, prompt: str, seconds: float | None = None, seed: int = 0, steps: int = 50,
                      guidance: float = 2.5, word_weights=None, smoothing: float | None = None,
                      foot_lock: bool | None = None) -> dict:
        """Base and SoPo generators from the same seed and length: {"base": ..., "sopo": ...}."""
        return self.generation().generate_pair(prompt, seconds, seed, steps, guidance, word_weights,
                                               smoothing=smoothing, foot_lock=foot_lock)

    def generated_motion(self, result: dict) -> Motion:
        """A generate() result as a Motion (for the viewer and motion_io.save_motion)."""
        return Motion(result["joints"], result.get("fps", 20.0), f"generated-{result.get('variant', '')}",
                      {"prompt": result.get("prompt"), "seed": result.get("seed")})

    def audit(self, spec: str | None = None, progress=None) -> dict:
        return self.service().audit(self.dataset(spec), progress)

    # -- training -----------------------------------------------------------------------
    def start_training(self, data: str, preset: str = "tiny", phases: str = "all", out: str | None = None,
                       overrides: list[str] | None = None, max_minutes: float | None = None) -> str:
        """Start `python -m engine train` in the background (one run at a time); returns the run's id.

        The preset, phases and overrides are checked here first, so a typo is a message now rather
        than a failed run later. out defaults to runs/<timestamp> in the repository.
        """
        from .config import preset as load_preset
        from .config_overrides import apply_overrides
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
        except InputError as err:
            raise InputError(_hide_folders(err.path, path, mapping),
                             _hide_folders(err.problem, path, mapping)) from None
        except MotionLexError as err:
            raise MotionLexError(_hide_folders(str(err), path, mapping)) from None
        except (ValueError, IndexError, KeyError, UnicodeDecodeError, OSError) as err:
            # A reader tripping over a malformed file is the file's fault, not a crash.
            raise InputError(path.name, _hide_folders(f"cannot read this file ({type(err).__name__}: {err})",
                                                      path, mapping)) from None

    # =================================================================================================
    # Added for the browser app: attention maps, word timelines, "find similar", feature health, prompt
    # word weights, motion export, and training runs read from their own records. New methods only; the
    # methods above are unchanged (helpers: the "app helpers" block at the end of this file).


def _hide_folders(text: str | None, path: Path, mapping) -> str | None:
    """A reader's message with the folders of the user's files left out: an upload lives in a server temp
    folder the user never named, so `/tmp/gradio/3f9c.../walk.bvh: ...` becomes `walk.bvh: ...` (the same
    for its mapping file and for files found beside it, such as an .amc's skeleton)."""
    if not text:
        return text
    folders = {path.parent, *([Path(mapping).parent] if mapping else [])}
    for folder in list(folders):
        try:
            folders.add(folder.resolve())
        except (OSError, ValueError, RuntimeError):
            pass
    for folder in sorted({str(f).rstrip(os.sep) for f in folders} - {"", "."}, key=len, reverse=True):
        text = text.replace(folder + os.sep, "")
    return text


def clip_row(clip) -> dict:
    """The plain-data view of a Clip that tables and JSON output show."""
    return {"id": clip.id, "caption": clip.captions[0] if clip.captions else "", "captions": list(clip.captions),
            "split": clip.split, "duration_s": round(float(clip.duration_s), 2), "frames": int(clip.frames),
            "label": clip.label}
