"""`python -m engine eval`: one checkpoint on one split, every measure in one JSON.

retrieval (TMR's four protocols, plus label relevance on label datasets such as Bandai), captioning
(the decoder alone, comparable with the seed's Table 3; the served retrieval-augmented captioner; three
retrieval baselines: the nearest neighbour's caption in the model's lexical space and, model-free, in pose
space, and the consensus of the nearest neighbours' captions), lexical (term fidelity and sparsity) and
feature health (LER, MOM of the motion encoder's per-joint features), and, when the checkpoint holds
generators, generation (evaluation/generation.py). Captions go through the served code path
(ModelService.caption) with the training split as the library.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..metrics import (caption_metrics, local_effective_rank, method_of_moments, minilm_token_embedder,
                       retrieval_all, retrieval_batches, retrieval_dissimilar, retrieval_labels,
                       retrieval_threshold)
from ..vocab import Vocabulary
from .keywords import keyword_precision
from .queries import query_evaluation
from .fidelity import content_fidelity, label_action, label_side, side_fidelity
from .generation import generation_eval
from .pose_neighbour import nearest_by_pose
from ..inference.captioner import NEIGHBOURS
from ..inference.library_search import nearest_captions
from ..inference.two_part import TWO_PART_CAPTION
from ..metrics.captioning import consensus_cider
from ..models.encode import encode_motions, encode_texts, pad_batch, windows


def model_kind(manifest: dict) -> str:
    """'dense' when the CLIP-style baseline phase trained last (its vectors are the dense ones)."""
    done = manifest.get("phases_done") or []
    return "dense" if done and done[-1] == "dense" else "lexical"


def label_key(label: dict | None) -> str | None:
    """The relevance label of a clip: Bandai's content ('raise-up-left-hand') or the procedural
    primitives ('wave_left', 'punch_left+turn_left'); None when a dataset has no labels."""
    if not label:
        return None
    return label.get("content") or "+".join(label.get("primitives") or []) or None


def sentence_embeddings(texts: list[str], embedder) -> np.ndarray:
    """Mean of the base MiniLM's contextual token embeddings, L2-normalised (text-text similarity)."""
    vecs = np.stack([t.mean(axis=0) if len(t) else np.zeros(384) for t in embedder(texts)])
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True).clip(1e-12)


def scores_between(text_vecs, motion_vecs) -> np.ndarray:
    if sp.issparse(text_vecs):
        return np.asarray((text_vecs @ motion_vecs.T).todense(), dtype=np.float32)
    return (text_vecs @ motion_vecs.T).astype(np.float32)


def evaluate(service, dataset, split: str = "test", captioning: bool = True,
             max_items: int | None = None, progress=None) -> dict:
    """Every measure of `service`'s checkpoint (an inference.service.ModelService) on one split, with the
    model to itself for the whole job. progress(done, total, stage), optional."""
    with service.exclusive():
        return _evaluate(service, dataset, split, captioning, max_items, progress)


def _evaluate(service, dataset, split, captioning, max_items, progress) -> dict:
    model, manifest = service.model, service.manifest
    vocab = Vocabulary.from_model_dir(model.cfg.text_model_path)
    kind = model_kind(manifest)
    clips = dataset.split(split)[:max_items] if max_items else dataset.split(split)
    if len(clips) < 2:
        from ..errors import MotionLexError
        raise MotionLexError(f"split {split!r} of {dataset.spec} has {len(clips)} clips; need at least 2")
    motions = [dataset.motion(c.id).joints for c in clips]
    texts = [c.captions[0] for c in clips]
    motion_vecs = encode_motions(model, motions, kind=kind,
                                 progress=(lambda done, total: progress(done, total, "encoding")) if progress else None)
    text_vecs = encode_texts(model, texts, kind=kind)
    scores = scores_between(text_vecs, motion_vecs)
    embedder = minilm_token_embedder()
    sentences = sentence_embeddings(texts, embedder)
    text_sim = sentences @ sentences.T
    out = {"split": split, "clips": len(clips), "kind": kind, "retrieval": retrieval_all(scores),
           "protocols": {"all": retrieval_all(scores), "threshold": retrieval_threshold(scores, text_sim),
                         "dissimilar": _without_indices(retrieval_dissimilar(scores, text_sim)),
                         "batches_32": retrieval_batches(scores)}}
    labels = [label_key(c.label) for c in clips]
    if all(labels):
        out["protocols"]["labels"] = retrieval_labels(scores, labels, labels)
        if kind == "lexical":
            out["keywords"] = keyword_precision(motion_vecs, labels, model.tokenizer)
            out["queries"] = query_evaluation(service, dataset, split)
    if kind == "lexical":
        dense_motion = motion_vecs.toarray()
        out["lexical"] = {
            **side_fidelity(dense_motion, [label_side(c.label) for c in clips], vocab),
            **content_fidelity(dense_motion, [label_action(c.label) for c in clips], vocab,
                               [(c.label or {}).get("content") for c in clips]),
            "motion_nnz_mean": float(np.diff(motion_vecs.indptr).mean()),
            "text_nnz_mean": float(np.diff(text_vecs.indptr).mean()),
        }
        if captioning:
            out["captioning"] = caption_eval(service, dataset, clips, motions, embedder, progress)
    out["feature_health"] = feature_health(model, motions[:64])
    generation = generation_eval(service, dataset, clips, progress)   # None when the checkpoint has no generator
    if generation is not None:
        out["generation"] = generation
    return out


def caption_eval(service, dataset, clips, motions: list[np.ndarray], embedder, progress=None) -> dict:
    """Captions of the split's motions as served, with the training split as the library: `model` is the
    decoder alone (its own choice among its candidates: the figure comparable with the seed's Table 3),
    `retrieval_augmented` the served captioner (the choice guided by the captions of the NEIGHBOURS nearest
    training motions). Baselines: the caption of the nearest training motion (the model's space, and pose
    space with no model) and the consensus caption of the NEIGHBOURS nearest (Devlin et al. 2015: the one
    that agrees most with the others)."""
    references = [c.captions for c in clips]
    train = dataset.subset("train")
    library = service.library(train, progress=progress)
    alone, guided, baseline, consensus, parts = [], [], [], [], []
    for joints in motions:
        encoding = service.encode(joints)
        served = service.caption(encoding, library)
        parts.append(served["parts"])
        alone.append(served["decoder_caption"])
        guided.append(served["caption"])
        baseline.append(served["baseline"]["caption"])
        guides = nearest_captions(library, encoding.vector, NEIGHBOURS)[1]
        flat = [t for captions in guides for t in captions]
        consensus.append(flat[int(np.argmax(consensus_cider(flat)))])
    train_joints = [train.motion(c.id).joints for c in train.clips]
    by_pose = nearest_by_pose(motions, train_joints)
    return {"model": caption_metrics(alone, references, embedder),
            "retrieval_augmented": caption_metrics(guided, references, embedder),
            "nearest_neighbour": caption_metrics(baseline, references, embedder),
            "nearest_pose_neighbour": caption_metrics([train.clips[i].captions[0] for i in by_pose], references,
                                                      embedder),
            "neighbours_consensus": caption_metrics(consensus, references, embedder),
            "neighbours": NEIGHBOURS,
            "two_part": two_part_summary(references, parts, library.two_part_threshold()),
            "caption_head": service.model.caption_head.fitted,
            "bertscore_encoder": "all-MiniLM-L6-v2 (local), last layer",
            "examples": [{"id": c.id, "reference": c.captions[0], "caption": a, "retrieval_augmented": g,
                          "baseline": b} for c, a, g, b in list(zip(clips, alone, guided, baseline))[:8]]}


def two_part_summary(references: list[list[str]], parts: list[int], threshold: float | None) -> dict:
    """How often motions are captioned in two parts, by whether their references are ("... then ...")."""
    said = [any(TWO_PART_CAPTION.search(r) for r in refs) for refs in references]
    share = {kind: [p == 2 for p, s in zip(parts, said) if s == kind] for kind in (True, False)}
    return {"threshold": threshold, "two_part_references": len(share[True]),
            "two_part_captioned_in_two": round(100.0 * float(np.mean(share[True])), 2) if share[True] else None,
            "one_part_captioned_in_two": round(100.0 * float(np.mean(share[False])), 2) if share[False] else None}


def _cosine(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    na = np.sqrt(np.asarray(a.multiply(a).sum(1))).clip(1e-12)
    nb = np.sqrt(np.asarray(b.multiply(b).sum(1))).clip(1e-12)
    return np.asarray((a @ b.T).todense()) / na / nb.T


def feature_health(model, motions: list[np.ndarray]) -> dict:
    """LER and MOM over per-joint (time x channel) matrices of the encoder's features."""
    matrices = []
    with torch.no_grad():
        for joints in motions:
            a, b = windows(len(joints), model.cfg.max_frames)[0]
            x, mask = pad_batch([joints[a:b]], model.device)
            mt = model.motion_tokens(x, mask)
            feats = mt.per_joint_features()[0][mt.token_mask[0]].float().cpu().numpy()  # (Tp, 22, C)
            if feats.shape[0] >= 3:
                matrices.extend(feats.transpose(1, 0, 2))
    if not matrices:
        return {"LER": None, "MOM": None}
    return {"LER": local_effective_rank(matrices), "MOM": method_of_moments(matrices)}


def _without_indices(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "indices"}
