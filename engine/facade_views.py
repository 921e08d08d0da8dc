"""The Engine's views for the app (a part of the one facade, engine/facade.py): word choices, attention,
word timelines, similar motions, feature health, prompt weights and motion export."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import MotionLexError
from .motion import Motion
from .run_records import read_json, read_records


def own_clip(motion: Motion, library) -> str | None:
    """A library clip's id when the motion is one (a clip is not its own neighbour or match)."""
    return motion.name if motion.name in library.clips else None


class ViewsMixin:
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
        own = own_clip(motion, library)
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
            evaluated = read_json(Path(service.dir) / "eval.json")
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
        return {**run_records(read_records(folder)), "run": str(folder)}

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

    def render_motion(self, joints, path: str | os.PathLike, body: str = "skeleton", fps: float = 20.0,
                      smpl_dir: str | os.PathLike | None = None, label: str | None = None, progress=None) -> dict:
        """Write canonical joints (or a Motion) as a .gif or .mp4 of rendered frames: the skeleton, or with
        body="smpl" the SMPL body fitted to it (the user's licensed SMPL files in `smpl_dir` or
        $MOTIONLEX_SMPL_DIR; engine/smpl_body.py).
        -> {"path", "frames", "body", "joint_error_m" (smpl: the fitted joints' mean distance)}."""
        from . import render_files

        motion = joints if isinstance(joints, Motion) else Motion(joints, fps, "motion", {})
        path = Path(path)
        if path.suffix.lower() not in (".gif", ".mp4"):
            raise MotionLexError(f"{path.name}: rendered motions are written as .gif or .mp4")
        if body not in ("skeleton", "smpl"):
            raise MotionLexError(f"body must be 'skeleton' or 'smpl', not {body!r}")
        save = render_files.save_gif if path.suffix.lower() == ".gif" else render_files.save_mp4
        info = {}
        if body == "smpl":
            from .render_mesh import body_frames

            images, info = body_frames(motion.joints, motion.fps, smpl_dir, label=label, progress=progress)
        else:
            from .render import render_frames

            images = render_frames(motion.joints, motion.fps, label=label)
        save(images, path, motion.fps)
        return {"path": str(path), "frames": len(images), "body": body, **info}
