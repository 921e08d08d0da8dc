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
                 steps: int = 50, guidance: float = 2.5, word_weights=None) -> dict:
        """Text to motion: {"joints" (T, 22, 3) canonical, "frames", "seconds", "reward" (the lexical model's
        score), "evaluator_score", "physical", "timings", ...}. seconds=None lets the length head choose;
        word_weights ({word: weight} or "walk:2 -run") steer the lexical condition word by word."""
        return self.generation().generate(prompt, model, seconds, seed, steps, guidance, word_weights)

    def generate_pair(self, prompt: str, seconds: float | None = None, seed: int = 0, steps: int = 50,
                      guidance: float = 2.5, word_weights=None) -> dict:
        """Base and SoPo generators from the same seed and length: {"base": ..., "sopo": ...}."""
        return self.generation().generate_pair(prompt, seconds, seed, steps, guidance, word_weights)

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
    # =================================================================================================
    def motion_words(self, motion: Motion, k: int = 12) -> list[tuple[str, float]]:
        """The motion's k heaviest displayable words and their served weights (the words to pick from)."""
        service = self.service()
        return service.vocab.top_terms(service.encode(motion.joints).vector, k)

    def attention(self, motion: Motion, target: str = "pca", component: int = 1, word: str | None = None) -> dict:
        """Per-joint attention of the motion encoder by gradient x input (engine/inference/attention.py):
        target "pca" (the energy of PCA component `component` of the features) or "word" (the weight of
        `word`). -> {"map" (T, 22) in [0, 1], "signed", "method", "summary": {"joints", "peak_s"}, "fps",
        "target", "component", "word", "explained" (pca)}."""
        from .inference.attention import joint_attribution, summarise
        from .skeleton import JOINT_NAMES

        service = self.service()
        term = None
        if target == "word":
            word = (word or "").strip().lower()
            if not word:
                raise MotionLexError("choose a word to explain")
            vocab_id = service.vocab.whole_word_id(word)
            if vocab_id is None:
                raise MotionLexError(f"{word!r} is not a word of the vocabulary")
            term = int(service.model.lexicon.position[vocab_id])
            if term < 0:
                raise MotionLexError(f"{word!r} is not in this model's lexicon (the {len(service.model.lexicon)} "
                                     "terms it scores), so no motion can activate it")
        elif target != "pca":
            raise MotionLexError(f"unknown attention target {target!r}; expected pca or word")
        with service.lock:
            result = joint_attribution(service.model, motion.joints, target, int(component), term)
        result.update(summary=summarise(result["signed"], JOINT_NAMES, motion.fps), fps=motion.fps, target=target,
                      component=int(component), word=word if target == "word" else None)
        return result

    def word_timeline(self, motion: Motion, words: int = 10, extra_words=()) -> dict:
        """The words the motion activates over time (engine/inference/timeline.py): {"words", "values"
        (n_words, n_patches), "seconds", "patch_s", "columns", "method", "unknown"}."""
        from .inference.timeline import word_timeline

        service = self.service()
        with service.lock:
            vector = service.encode(motion.joints).vector
            return word_timeline(service.model, service.vocab, motion.joints, vector, words, list(extra_words))

    def similar_motions(self, motion: Motion, spec: str | None = None, k: int = 8, progress=None) -> dict:
        """Motion-to-motion search: the library motions nearest to this motion's lexical vector through the
        motion index (a library clip leaves itself out). -> {"hits": [{"id", "score", "caption", "label",
        "terms"}], "library": spec}."""
        import scipy.sparse as sp

        service = self.service()
        library = service.library(self.dataset(spec), progress=progress)
        vector = service.encode(motion.joints).vector
        own = _own_clip(motion, library)
        with service.lock:
            hits = library.motions.search(sp.csr_matrix(vector[None]), k=int(k) + (own is not None), explain=20)
            rows = [library._motion_hit(h, 5) for h in hits if h.id != own][:int(k)]
        return {"hits": rows, "library": self.dataset(spec).spec}

    def feature_health(self, spec: str | None = None, clips: int = 64, split: str = "test") -> dict:
        """LER and MOM of the motion encoder's features per layer (engine/inference/layer_health.py) over the
        first `clips` clips of the library's split (all clips when the split is empty); cached per checkpoint
        and library."""
        from .inference.layer_health import layer_health

        service = self.service()
        ds = self.dataset(spec)
        key = (service.weights_id, ds.spec, int(clips), split)
        cache = self.__dict__.setdefault("_health_cache", {})
        if key not in cache:
            chosen = [c for c in ds.clips if c.split == split] or list(ds.clips)
            motions = [ds.motion(c.id).joints for c in chosen[:max(1, int(clips))]]
            with service.lock:
                report = layer_health(service.model, motions)
            report.update(library=ds.spec, split=split if any(c.split == split for c in ds.clips) else "all",
                          checkpoint=str(service.dir))
            evaluated = _read_json(Path(service.dir) / "eval.json")
            report["eval"] = (evaluated or {}).get("feature_health")
            cache[key] = report
        return cache[key]

    def run_feature_health(self, out: str | os.PathLike | None = None) -> dict:
        """Feature-health values a training run logged in its metrics.jsonl (LER / MOM, or LER from the 1/LER
        regulariser's term); out=None: the current or latest run."""
        from .inference.layer_health import run_records

        folder = self._run_folder(out)
        if folder is None:
            return {"series": {}, "phases": [], "run": None}
        return {**run_records(_read_records(folder)), "run": str(folder)}

    def prompt_weights(self, prompt: str, k: int = 12) -> list[tuple[str, float]]:
        """A prompt's heaviest displayable words, each weight relative to the heaviest (1.0): the scale the
        generator's word_weights use ("walk:1 left:0.6"), so sending them back unchanged keeps the condition."""
        terms = list(self.text_terms(prompt).items())[:max(1, int(k))]
        top = max((v for _, v in terms), default=0.0)
        return [(w, round(v / top, 2)) for w, v in terms] if top > 0 else []

    def save_motion(self, joints, path: str | os.PathLike, fps: float = 20.0, name: str = "motion") -> Path:
        """Write canonical joints (or a Motion) as .npy or .bvh (engine.motion_io.save_motion)."""
        from .motion_io import save_motion

        motion = joints if isinstance(joints, Motion) else Motion(joints, fps, name, {})
        save_motion(motion, path)
        return Path(path)

    # ---- training runs, told from their own records -------------------------------------------------
    def runs_root(self) -> Path:
        """Where runs started from the app go (and are listed from): $MOTIONLEX_RUNS or <repo>/runs."""
        from .train.worker import REPO_ROOT

        return Path(os.environ.get(RUNS_ENV) or REPO_ROOT / "runs")

    def training_plan(self, data: str, preset: str = "tiny", phases: str = "all", overrides=None,
                      max_minutes: float | None = None) -> dict:
        """What a run would do and how long it would take, before it starts: {"phases": [{"phase", "steps",
        "seconds_per_step", "seconds", "source"}], "startup_s", "total_s", "budget_s", "fits_first", "fits_all",
        "message"}. Seconds per step come from earlier runs' metrics.jsonl with the same preset (the shipped
        model's included), else from the README's measured tiny-preset rates."""
        from .config import preset as load_preset
        from .config_overrides import apply_overrides
        from .train.run import parse_phases

        names = parse_phases(phases or "all")
        config = apply_overrides(load_preset(preset), [o.strip() for o in overrides or [] if o.strip()])
        rates, startup = _measured_rates(self, preset)
        items = None
        rows = []
        for name in names:
            try:
                pcfg = config.train.phase(name)
            except (AttributeError, KeyError, ValueError, SpecError):
                pcfg = None
            steps = getattr(pcfg, "steps", 0) if pcfg is not None else 0
            if not steps and pcfg is not None:
                if items is None:
                    try:
                        items = sum(len(self.dataset(s.strip()).split("train")) for s in data.split(",") if s.strip())
                    except MotionLexError:
                        items = 0
                steps = pcfg.total_steps(max(1, items))
            rate, source = rates.get(name, (DEFAULT_STEP_S.get(name, 0.5), "README estimate"))
            rows.append({"phase": name, "steps": int(steps), "seconds_per_step": rate,
                         "seconds": round(steps * rate, 1), "source": source})
        total = startup + sum(r["seconds"] for r in rows)
        budget = None if not max_minutes else 60.0 * float(max_minutes)
        first = startup + (rows[0]["seconds"] if rows else 0.0)
        fits_first = budget is None or budget >= first
        fits_all = budget is None or budget >= total
        message = ""
        if not fits_first:
            message = (f"a {max_minutes:g}-minute budget is too short for the first phase ({rows[0]['phase']}: "
                       f"{rows[0]['steps']} steps, about {_minutes(first)} with start-up): the run would stop "
                       f"without any checkpoint. Give at least {math.ceil(first / 60 + 0.5):g} minutes, leave the "
                       f"budget empty, or lower train.{rows[0]['phase']}.steps")
        elif not fits_all:
            done, spent = [], startup
            for r in rows:
                spent += r["seconds"]
                if spent > budget:
                    break
                done.append(r["phase"])
            message = (f"the whole run needs about {_minutes(total)}; the {max_minutes:g}-minute budget will stop "
                       f"it after {', '.join(done) or rows[0]['phase']}, before the final model is written (Resume "
                       "continues it)")
        return {"phases": rows, "startup_s": round(startup, 1), "total_s": round(total, 1), "budget_s": budget,
                "fits_first": fits_first, "fits_all": fits_all, "message": message}

    def start_run(self, data: str, preset: str = "tiny", phases: str = "all", out: str | None = None,
                  overrides: list[str] | None = None, max_minutes: float | None = None) -> dict:
        """start_training, refused before it starts when the budget cannot finish even the first phase, with
        the run's request recorded in <out>/run.json (so it can be listed, shown and resumed after a restart).
        -> {"run": run id, "out_dir", "plan"}."""
        if self._job is not None and self._job.running:
            raise MotionLexError(f"a training run is already going ({self._job.out_dir}); cancel it first")
        overrides = [o.strip() for o in overrides or [] if o.strip()]
        if max_minutes is not None and max_minutes <= 0:
            raise SpecError("max minutes must be positive (or empty for no limit)")
        plan = self.training_plan(data, preset, phases, overrides, max_minutes)
        if not plan["fits_first"]:
            raise MotionLexError(plan["message"])
        if not out or not str(out).strip():
            out = str(self.runs_root() / time.strftime("%Y%m%d-%H%M%S"))
        run_id = self.start_training(data, preset, phases, out, overrides, max_minutes)
        folder = Path(self._job.out_dir)
        _write_json(folder / RUN_RECORD, {"data": data.strip(), "preset": preset, "phases": (phases or "all").strip(),
                                          "overrides": overrides, "max_minutes": max_minutes,
                                          "started": self._job.started, "attempts": 1, "plan": plan})
        self.__dict__.setdefault("_session_runs", []).append(folder)
        _remember_run(self.runs_root(), folder)
        return {"run": run_id, "out_dir": str(folder), "plan": plan}

    def resume_run(self, out: str | os.PathLike, max_minutes: float | None = None) -> dict:
        """Continue a stopped run (`engine train --resume` with the request in its run.json)."""
        from .train.worker import TrainingJob

        if self._job is not None and self._job.running:
            raise MotionLexError(f"a training run is already going ({self._job.out_dir}); cancel it first")
        folder = Path(out).expanduser().resolve()
        record = _read_json(folder / RUN_RECORD)
        if not record:
            raise MotionLexError(f"{folder.name} has no run.json (it was not started from the app), so its "
                                 "request is unknown; resume it with `python -m engine train ... --resume`")
        if (folder / "manifest.json").is_file():
            raise MotionLexError(f"{folder.name} is finished already: its final model is written")
        budget = max_minutes if max_minutes else record.get("max_minutes")
        self._job = TrainingJob(record["data"], folder, record["preset"], record["phases"], record["overrides"],
                                budget, resume=True).start()
        record.update(attempts=int(record.get("attempts", 1)) + 1, resumed=self._job.started, cancelled=False)
        _write_json(folder / RUN_RECORD, record)
        if folder not in self.__dict__.setdefault("_session_runs", []):
            self._session_runs.append(folder)
        return self.run_status()

    def cancel_run(self) -> dict:
        """Cancel the current run if it is going; otherwise say how it ended (never an error)."""
        job = self._job
        if job is None or not job.running:
            status = self.run_status()
            status["message"] = ("no run is going" if status["state"] == "none"
                                 else f"the run had already ended ({status['label']}); nothing to cancel")
            return status
        job.cancel()
        record = _read_json(job.out_dir / RUN_RECORD)
        if record:
            record.update(cancelled=True, ended=time.time())
            _write_json(job.out_dir / RUN_RECORD, record)
        status = self.run_status()
        status["message"] = "cancelled" + (" (Resume continues from its last checkpoint)" if status["resumable"] else "")
        return status

    def _run_folder(self, out=None) -> Path | None:
        if out:
            return Path(out).expanduser().resolve()
        if self._job is not None:
            return Path(self._job.out_dir)
        runs = self.training_runs()
        return Path(runs[0]["out_dir"]) if runs else None

    def run_status(self, out: str | os.PathLike | None = None) -> dict:
        """The truth about a run (the current one, else the latest on disk), from its own records: the process
        (while this server runs it), metrics.jsonl, the phase checkpoints, the final manifest, the CLI's JSON
        summary in train.log and run.json. -> {"state": starting | running | done | stopped | cancelled |
        failed | incomplete | none, "label", "phase", "step", "total_steps", "phases", "phases_done", "elapsed_s",
        "left_s", "budget_left_s", "usable" (a loadable final model), "resumable", "running", "out_dir",
        "run", "log", "records", "stopped_because", "message", "current" (this server's run)}."""
        folder = self._run_folder(out)
        if folder is None:
            return {"state": "none", "label": "no run yet", "running": False, "usable": False, "resumable": False,
                    "out_dir": None, "run": None, "log": "", "records": 0, "phases": [], "phases_done": [],
                    "current": False, "message": ""}
        job = self._job if self._job is not None and Path(self._job.out_dir) == folder else None
        return _run_status(folder, job, self.training_plan_cache(folder))

    def training_plan_cache(self, folder: Path) -> dict | None:
        return (_read_json(folder / RUN_RECORD) or {}).get("plan")

    def training_runs(self, root: str | os.PathLike | None = None) -> list[dict]:
        """Runs under the runs folder (and the ones this server started elsewhere), newest first: {"run",
        "out_dir", "state", "label", "phases_done", "step", "usable", "modified", "eval"}."""
        base = Path(root) if root else self.runs_root()
        folders = set(self.__dict__.get("_session_runs", []))
        folders.update(p for p in _remembered_runs(base) if p.is_dir())
        if self._job is not None:
            folders.add(Path(self._job.out_dir))
        if base.is_dir():
            folders.update(p.resolve() for p in base.iterdir() if p.is_dir() and (
                (p / "metrics.jsonl").is_file() or (p / "manifest.json").is_file() or (p / RUN_RECORD).is_file()))
        rows = []
        for folder in folders:
            job = self._job if self._job is not None and Path(self._job.out_dir) == folder else None
            s = _run_status(folder, job, None)
            rows.append({"run": folder.name, "out_dir": str(folder), "state": s["state"], "label": s["label"],
                         "phases_done": s["phases_done"], "step": s.get("step"), "total_steps": s.get("total_steps"),
                         "phase": s.get("phase"), "usable": s["usable"], "modified": _modified(folder),
                         "eval": eval_table(_read_json(folder / "eval.json"))})
        return sorted(rows, key=lambda r: -r["modified"])

    def run_details(self, out: str | os.PathLike) -> dict:
        """One run for the Training tab's run list: its status, its records, its final manifest's metrics and
        its eval table (eval.json, when `engine eval` was run on it)."""
        folder = Path(out).expanduser().resolve()
        manifest = _read_json(folder / "manifest.json") or {}
        return {"status": self.run_status(folder), "records": _read_records(folder),
                "final_metrics": manifest.get("metrics") or {}, "eval": eval_table(_read_json(folder / "eval.json"))}
    # ============================================ end of the app block ================================


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


def _own_clip(motion: Motion, library) -> str | None:
    """A library clip's id when the motion is one (a clip is not its own captioning neighbour)."""
    return motion.name if motion.name in library.clips else None


def clip_row(clip) -> dict:
    """The plain-data view of a Clip that tables and JSON output show."""
    return {"id": clip.id, "caption": clip.captions[0] if clip.captions else "", "captions": list(clip.captions),
            "split": clip.split, "duration_s": round(float(clip.duration_s), 2), "frames": int(clip.frames),
            "label": clip.label}


# ====================================================================================================
# App helpers (the app block of Engine above): run records, estimates, eval tables.
# ====================================================================================================
import json as _json   # noqa: E402
import math            # noqa: E402

RUNS_ENV = "MOTIONLEX_RUNS"
RUN_RECORD = "run.json"          # what the app asked for: data, preset, phases, overrides, budget, times
STARTUP_S = 30.0                 # loading torch, the text encoder and the data before the first step
# Seconds per step of the tiny preset on 2 CPU cores (README: Bandai, one uninterrupted run); used when no
# earlier run of the same preset has logged its own rate.
DEFAULT_STEP_S = {"lexmlm": 0.28, "cmmm": 0.37, "lexmmm": 0.38, "lexcmlp": 0.80, "caption": 0.16, "dense": 0.4,
                  "evaluator": 0.4, "generator": 0.3, "sopo": 2.0}
LOG_LINES = 60
ELSEWHERE = "elsewhere.json"     # in the runs folder: run folders started outside it


def _read_json(path: Path):
    try:
        return _json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value) -> None:
    from .atomic import atomic_write_bytes
    atomic_write_bytes(Path(path), _json.dumps(value, indent=1, default=str).encode())


def _read_records(folder: Path) -> list[dict]:
    path = Path(folder) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = _json.loads(line)
        except ValueError:
            continue   # a half-written last line
        if isinstance(record, dict) and "phase" in record and "step" in record:
            records.append(record)
    return records


def _remember_run(root: Path, folder: Path) -> None:
    """Runs started outside the runs folder are listed in <runs>/elsewhere.json, so a restarted server finds them."""
    try:
        if folder.resolve().parent == root.resolve():
            return
        known = [str(p) for p in _remembered_runs(root)]
        if str(folder) not in known:
            root.mkdir(parents=True, exist_ok=True)
            _write_json(root / ELSEWHERE, (known + [str(folder)])[-200:])
    except OSError:
        pass   # listing is a convenience; the run itself is unaffected


def _remembered_runs(root: Path) -> list[Path]:
    found = _read_json(Path(root) / ELSEWHERE)
    return [Path(p) for p in found if isinstance(p, str)] if isinstance(found, list) else []


def _modified(folder: Path) -> float:
    times = [p.stat().st_mtime for p in (folder / "metrics.jsonl", folder / "train.log", folder / RUN_RECORD,
                                         folder / "manifest.json") if p.is_file()]
    return max(times) if times else (folder.stat().st_mtime if folder.exists() else 0.0)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _measured_rates(engine, preset: str) -> tuple[dict, float]:
    """{phase: (median seconds per step, source)} and the start-up seconds, from the metrics.jsonl of earlier
    runs of this preset (newest first) and of the served checkpoint."""
    folders = [Path(engine.checkpoint)] + [Path(r["out_dir"]) for r in engine.training_runs()[:10]]
    rates, startups = {}, []
    for folder in folders:
        cfg = _read_json(folder / "config.json") or {}
        record = _read_json(folder / RUN_RECORD) or {}
        if record.get("preset", cfg.get("preset", preset)) != preset and record:
            continue
        records = _read_records(folder)
        for phase in dict.fromkeys(r["phase"] for r in records):
            if phase in rates:
                continue
            values = sorted(r["seconds_per_step"] for r in records if r["phase"] == phase
                            and isinstance(r.get("seconds_per_step"), (int, float)))
            if values:
                rates[phase] = (round(values[len(values) // 2], 4), f"measured in {folder.name}")
        if records and record.get("started") and isinstance(records[0].get("time"), (int, float)):
            first = records[0]
            startups.append(first["time"] - record["started"] - float(first.get("seconds", 0.0)))
    startups = [s for s in startups if 0 < s < 600]
    return rates, (sorted(startups)[len(startups) // 2] if startups else STARTUP_S)


def _last_json(text: str) -> dict | None:
    """The CLI's --json summary: the last top-level JSON object printed in the log."""
    start = text.rfind("\n{\n")
    start = 0 if start < 0 and text.startswith("{\n") else start
    if start < 0:
        return None
    try:
        value = _json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _log_text(folder: Path, lines: int = LOG_LINES) -> tuple[str, str]:
    """(the last `lines` lines of train.log, its whole text up to 400 kB from the end)."""
    path = folder / "train.log"
    if not path.is_file():
        return "", ""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 400_000))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]), text


def _phases_done(folder: Path, planned: list[str]) -> list[str]:
    from .config import ALL_PHASES

    done = []
    for name in planned or list(ALL_PHASES):
        manifest = _read_json(folder / name / "manifest.json")
        if manifest and manifest.get("complete"):
            done.append(name)
    return done


def _usable(folder: Path) -> bool:
    """A final model the app can serve: manifest.json complete, with its weights file present."""
    manifest = _read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or not manifest.get("complete", False):
        return False
    weights = manifest.get("weights")
    return bool(weights) and (folder / str(weights)).is_file()


def _run_status(folder: Path, job, plan: dict | None) -> dict:
    now = time.time()
    record = _read_json(folder / RUN_RECORD) or {}
    plan = plan or record.get("plan") or {}
    records = _read_records(folder)
    log, text = _log_text(folder)
    summary = _last_json(text) if text else None
    usable = _usable(folder)
    planned = [r["phase"] for r in plan.get("phases", [])] or list(dict.fromkeys(r["phase"] for r in records))
    done = _phases_done(folder, planned)
    started = job.started if job is not None and job.started else record.get("resumed") or record.get("started")
    running = job is not None and job.running
    attempt = [r for r in records if started is None or r.get("time", now) >= started - 1]
    code = None if job is None or job.process is None else job.process.poll()
    stopped_because = (summary or {}).get("stopped")
    if running:
        state = "running" if attempt else "starting"
    elif job is not None:
        state = ("cancelled" if job.cancelled else "failed" if code not in (0, None) else "done" if usable
                 else "stopped")
    elif usable:
        state = "done"
    elif record.get("cancelled"):
        state = "cancelled"
    elif stopped_because:
        state = "stopped"
    elif summary is None and text.rstrip().splitlines()[-1:] and "error" in text.rstrip().splitlines()[-1].lower():
        state = "failed"
    elif records or record:
        state = "incomplete"
    else:
        state = "none"
    if state == "stopped" and not stopped_because:
        stopped_because = "ended before the final model was written"
    last = records[-1] if records else {}
    ended = None if running else max([t for t in (record.get("ended"), _modified(folder)) if t] or [now])
    elapsed = None if started is None else max(0.0, (now if running else ended) - started)
    left, budget_left = None, None
    if record.get("max_minutes") and started:
        budget_left = max(0.0, started + 60.0 * float(record["max_minutes"]) - now) if running else None
    if running:
        left = _time_left(plan, attempt, elapsed or 0.0)
        if budget_left is not None and left is not None:
            left = min(left, budget_left)
    labels = {"starting": "starting (loading the data and the model)", "running": "running",
              "done": "done: the final model is written", "cancelled": "cancelled",
              "stopped": f"stopped: {'the time budget ran out' if stopped_because == 'time budget' else stopped_because}",
              "failed": f"failed{f' (exit code {code})' if code not in (None, 0) else ''}: see the log",
              "incomplete": "incomplete: no final model (interrupted, or the server that ran it stopped)",
              "none": "no run yet"}
    resumable = (not running and not usable and bool(record)
                 and any((folder / p / "manifest.json").is_file() for p in planned or done))
    return {"state": state, "label": labels[state], "phase": last.get("phase"), "step": last.get("step"),
            "total_steps": last.get("total_steps"), "phases": planned, "phases_done": done,
            "elapsed_s": elapsed, "left_s": left, "budget_left_s": budget_left, "usable": usable,
            "resumable": resumable, "running": running, "out_dir": str(folder), "run": folder.name,
            "log": log, "records": len(records), "stopped_because": stopped_because,
            "exit_code": code, "max_minutes": record.get("max_minutes"), "current": job is not None, "message": ""}


def _time_left(plan: dict, records: list[dict], elapsed: float) -> float | None:
    """Seconds left: the current phase at its measured rate, later phases at the plan's rates scaled by how
    the measured rate compares with the planned one; before the first step, the plan minus the time spent."""
    rows = plan.get("phases") or []
    if not records:
        return max(0.0, plan["total_s"] - elapsed) if plan.get("total_s") else None
    last = records[-1]
    current = [r for r in records if r["phase"] == last["phase"]][-5:]
    rates = sorted(r["seconds_per_step"] for r in current if isinstance(r.get("seconds_per_step"), (int, float)))
    if not rates or not last.get("total_steps"):
        return None
    rate = rates[len(rates) // 2]
    left = max(0, last["total_steps"] - last["step"]) * rate
    names = [r["phase"] for r in rows]
    if last["phase"] in names:
        i = names.index(last["phase"])
        planned = rows[i]["seconds_per_step"] or rate
        left += sum(r["steps"] * r["seconds_per_step"] * rate / planned for r in rows[i + 1:])
    return left


def eval_table(evaluated: dict | None) -> list[list]:
    """The headline rows of an eval.json as [metric, value] (empty without one)."""
    if not isinstance(evaluated, dict):
        return []
    rows = []
    retrieval = evaluated.get("retrieval") or {}
    for direction in ("t2m", "m2t"):
        for metric in ("R@1", "R@5", "R@10", "MedR"):
            value = (retrieval.get(direction) or {}).get(metric)
            if isinstance(value, (int, float)):
                rows.append([f"{direction} {metric}", round(float(value), 2)])
    model = (evaluated.get("captioning") or {}).get("model") or {}
    for metric in ("CIDEr", "BLEU@4", "ROUGE-L"):
        if isinstance(model.get(metric), (int, float)):
            rows.append([f"caption {metric}", round(float(model[metric]), 3)])
    lexical = evaluated.get("lexical") or {}
    for key, name in (("side", "side fidelity %"), ("content", "content-word fidelity %")):
        if isinstance(lexical.get(key), (int, float)):
            rows.append([name, round(float(lexical[key]), 1)])
    for key, value in (evaluated.get("feature_health") or {}).items():
        if isinstance(value, (int, float)):
            rows.append([f"feature health {key}", round(float(value), 3)])
    if evaluated.get("clips"):
        rows.append(["clips evaluated", evaluated["clips"]])
    return rows
