"""ModelService: a loaded checkpoint and everything served from it (search, captions, explanations).

The facade (engine.Engine) owns one; the app and the CLI never see torch. Model calls are serialised
by a lock because Gradio runs handlers on several threads and one CPU model gains nothing from
running two batches at once.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from ..data.audit import audit
from ..errors import InputError
from ..explain import disagreement, pca_intensities, word_weights
from ..vocab import Vocabulary
from .captioner import NEIGHBOURS, Caption, NeighbourCaptions, choose, decode_candidates
from ..models.encode import MotionEncoding, encode_motion, encode_texts
from .library_search import LibrarySearch, nearest_captions
from .two_part import join_captions, same_action, two_parts

DEFAULT_TOP_K = 128   # terms kept per indexed vector (see bench/RESULTS.md: storage vs R@10)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ModelService:
    def __init__(self, checkpoint_dir: str | Path):
        from ..checkpoint import load_checkpoint

        self.dir = Path(checkpoint_dir)
        if not (self.dir / "manifest.json").is_file():
            raise InputError(self.dir, "not a checkpoint folder (no manifest.json); train one with "
                                       "`python -m engine train` or use checkpoints/default")
        self.model, self.config, self.manifest = load_checkpoint(self.dir, device())
        self.vocab = Vocabulary.from_model_dir(self.config.model.text_model_path)
        self.lock = threading.RLock()
        self._libraries: dict = {}

    @property
    def weights_id(self) -> str:
        return f"{self.manifest.get('weights')}|{self.manifest.get('created')}|{self.manifest.get('step')}"

    def info(self) -> dict:
        m = self.manifest
        return {"checkpoint": str(self.dir), "phases_done": m.get("phases_done"), "step": m.get("step"),
                "data": m.get("data_fingerprint"), "created": m.get("created"), "metrics": m.get("metrics", {})}

    # ---------------------------------------------------------------- libraries and search
    def library(self, dataset, top_k: int | None = DEFAULT_TOP_K, progress=None) -> LibrarySearch:
        key = (dataset.spec, dataset.fingerprint(), top_k)
        with self.lock:
            if key not in self._libraries:
                self._libraries[key] = LibrarySearch(self.model, self.vocab, dataset, self.dir, self.weights_id,
                                                     top_k, progress)
            return self._libraries[key]

    def search(self, library: LibrarySearch, query: str, keywords: bool = False, k: int = 10,
               query_top_k: int | None = None, pieces: bool = False, progress=None) -> dict:
        with self.lock:
            if keywords:
                return library.search_keywords(query, k=k, pieces=pieces, progress=progress)
            return library.search_text(query, k=k, query_top_k=query_top_k, progress=progress)

    def motion_to_text(self, library: LibrarySearch, encoding: MotionEncoding, k: int = 5) -> list[dict]:
        with self.lock:
            return library.motion_to_text(encoding.vector, k)

    # ---------------------------------------------------------------- one motion, one text
    def encode(self, joints: np.ndarray) -> MotionEncoding:
        """The one encoder pass of a request; caption, explain and compare read its result."""
        with self.lock:
            return encode_motion(self.model, joints)

    def text_vector(self, text: str) -> np.ndarray:
        with self.lock:
            return encode_texts(self.model, [text]).toarray()[0]

    def caption(self, encoding: MotionEncoding, library: LibrarySearch | None = None, terms: int = 12,
                exclude: str | None = None, two_part: bool = True) -> dict:
        """Caption, top terms, and with a library the baseline caption and neighbour guidance (leaving out
        the library clip `exclude`: a clip is not its own neighbour). "caption" is the served, retrieval-
        augmented choice; "decoder_caption" the decoder's own choice among the same candidates (no library).
        two_part: a motion whose words change more than the library's two-part threshold is captioned in two
        parts, each from its own side of the cut, joined by "then" (inference/two_part.py), unless both parts'
        captions say the same thing (two_part.same_action); "parts" says which."""
        with self.lock:
            baseline, guides = (None, []) if library is None else nearest_captions(library, encoding.vector,
                                                                                    NEIGHBOURS, exclude)
            flat = [caption for captions in guides for caption in captions]
            neighbours = NeighbourCaptions([flat], library.caption_statistics()) if flat else None
            threshold = library.two_part_threshold() if two_part and library is not None else None
            parts = two_parts(self.model, encoding, threshold)
            found, chosen, guide = self._decode(encoding.p[None] if parts is None else torch.stack(parts), neighbours)
            if parts is not None and same_action(chosen[0].text, chosen[1].text):   # the cut split one action
                parts = None
                found, chosen, guide = self._decode(encoding.p[None], neighbours)
            best = _joined(chosen)
            alone = _joined(choose(self.model, found)) if guide is not None else best
        return {"caption": best.text, "log_prob": round(best.log_prob, 4), "length": best.length,
                "decoder_caption": alone.text, "parts": 1 if parts is None else 2,
                "terms": word_weights(encoding.vector, self.vocab, terms), "baseline": baseline,
                "guide_captions": len(flat), "guide_motions": len(guides)}

    def _decode(self, rows: torch.Tensor, neighbours):
        """Candidates decoded from each row (one motion, or its two parts) and the served choice among them."""
        found = decode_candidates(self.model, rows)
        guide = None if neighbours is None else NeighbourCaptions(neighbours.captions * len(found.decoded),
                                                                 neighbours.cider)
        return found, choose(self.model, found, neighbours=guide), guide

    def explain(self, encoding: MotionEncoding, components: int = 3, terms: int = 40) -> dict:
        pca = pca_intensities(encoding.features, components)
        return {"terms": word_weights(encoding.vector, self.vocab, terms), "pca": pca,
                "frames_per_patch": self.config.model.patch_frames, "features_shape": list(encoding.features.shape)}

    def text_terms(self, text: str, terms: int = 40) -> dict[str, float]:
        return word_weights(self.text_vector(text), self.vocab, terms)

    def compare(self, encoding: MotionEncoding, caption: str) -> dict:
        motion, text = encoding.vector, self.text_vector(caption)
        return {"motion_terms": word_weights(motion, self.vocab), "caption_terms": word_weights(text, self.vocab),
                "score": float(motion @ text), **disagreement(motion, text, caption, self.vocab)}

    # ---------------------------------------------------------------- datasets
    def exclusive(self):
        """The model to oneself for a whole job made of many requests (an evaluation): the service's lock."""
        return self.lock

    def audit(self, dataset, progress=None, worst: int = 20) -> dict:
        search = self.library(dataset, progress=progress)
        motions = search.motions.matrix().toarray()
        first = np.cumsum([0] + [len(c.captions) for c in dataset.clips])[:-1]
        captions = search.caption_index(progress).matrix()[first].toarray()
        texts = [c.captions[0] if c.captions else "" for c in dataset.clips]
        base = self._base_text_model()
        base_vectors = encode_texts(base, texts).toarray() if base is not None else None
        report = audit([c.id for c in dataset.clips], texts, motions, captions, self.vocab,
                       base_caption_vectors=base_vectors, worst=worst)
        report["dataset"] = dataset.spec
        report["base_encoder"] = (f"{self.dir / 'lexmlm'}: the text encoder after LexMLM, before any motion"
                                  if base is not None else "not available: the checkpoint folder has no lexmlm/ phase "
                                  "(exported checkpoints keep only the final weights)")
        return report

    def _base_text_model(self):
        """The LexMLM phase checkpoint of a training run folder, i.e. the text side before motion training."""
        from ..checkpoint import load_checkpoint
        phase = self.dir / "lexmlm"
        if not (phase / "manifest.json").is_file():
            return None
        with self.lock:
            if getattr(self, "_base_model", None) is None:
                self._base_model = load_checkpoint(phase, self.model.device)[0]
            return self._base_model


def _joined(captions: list[Caption]) -> Caption:
    """One caption, or two (a motion's two parts) joined into one."""
    if len(captions) == 1:
        return captions[0]
    first, second = captions
    return Caption(join_captions(first.text, second.text), (first.log_prob + second.log_prob) / 2,
                   first.length + second.length)
