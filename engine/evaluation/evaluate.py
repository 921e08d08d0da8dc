"""`python -m engine eval`: one checkpoint on one split, every measure in one JSON.

retrieval (TMR's four protocols, plus label relevance on label datasets such as Bandai), captioning
(mask-predict vs three retrieval baselines: the nearest neighbour's caption in the model's lexical space
and, model-free, in pose space, and the consensus of the nearest neighbours' captions), lexical (term
fidelity and sparsity) and feature health (LER, MOM of the motion encoder's per-joint features).
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
from .fidelity import content_fidelity, label_action, label_side, side_fidelity
from .pose_neighbour import nearest_by_pose
from ..inference.captioner import NEIGHBOURS, NeighbourCaptions, choose, decode_candidates
from ..metrics.captioning import CiderD, consensus_cider, tokenize_caption
from ..inference.encode import encode_motions, encode_texts, pad_batch, windows


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


def evaluate(model, manifest: dict, dataset, split: str = "test", captioning: bool = True,
             max_items: int | None = None, progress=None) -> dict:
    vocab = Vocabulary.from_model_dir(model.cfg.text_model_path)
    kind = model_kind(manifest)
    clips = dataset.split(split)[:max_items] if max_items else dataset.split(split)
    if len(clips) < 2:
        from ..errors import MotionLexError
        raise MotionLexError(f"split {split!r} of {dataset.spec} has {len(clips)} clips; need at least 2")
    motions = [dataset.motion(c.id).joints for c in clips]
    texts = [c.captions[0] for c in clips]
    motion_vecs = encode_motions(model, motions, kind=kind, progress=progress)
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
    if kind == "lexical":
        dense_motion = motion_vecs.toarray()
        out["lexical"] = {
            **side_fidelity(dense_motion, [label_side(c.label) for c in clips], vocab),
            **content_fidelity(dense_motion, [label_action(c.label) for c in clips], vocab),
            "motion_nnz_mean": float(np.diff(motion_vecs.indptr).mean()),
            "text_nnz_mean": float(np.diff(text_vecs.indptr).mean()),
        }
        if captioning:
            out["captioning"] = caption_eval(model, dataset, clips, motions, motion_vecs, embedder)
    out["feature_health"] = feature_health(model, motions[:64])
    return out


def caption_eval(model, dataset, clips, motions: list[np.ndarray], motion_vecs: sp.csr_matrix, embedder) -> dict:
    """Mask-predict captions against three baselines: the caption of the closest training motion (in the
    model's space and, model-free, in pose space) and the consensus caption of the NEIGHBOURS closest
    (Devlin et al. 2015: the one that agrees most with the others). `model` is the captioner as it serves,
    its choice guided by those neighbours' captions; `model_without_neighbours` is the decoder alone."""
    references = [c.captions for c in clips]
    p = model.lexicon.from_full(torch.from_numpy(motion_vecs.toarray()).to(model.device))
    train = dataset.split("train")
    train_joints = [dataset.motion(c.id).joints for c in train]
    order = np.argsort(-_cosine(motion_vecs, encode_motions(model, train_joints)), axis=1, kind="stable")
    guides = [[t for i in row[:NEIGHBOURS] for t in train[i].captions] for row in order]
    statistics = CiderD([[tokenize_caption(t) for t in c.captions] for c in train if c.captions])
    ours, alone = [], []
    for a in range(0, len(clips), 32):   # one decoding, chosen from with and without the neighbours
        found = decode_candidates(model, p[a:a + 32])
        ours += [c.text for c in choose(model, found, neighbours=NeighbourCaptions(guides[a:a + 32], statistics))]
        alone += [c.text for c in choose(model, found)]
    baseline = [train[i].captions[0] for i in order[:, 0]]
    by_pose = nearest_by_pose(motions, train_joints)
    consensus = [g[int(np.argmax(consensus_cider(g)))] for g in guides]
    return {"model": caption_metrics(ours, references, embedder),
            "model_without_neighbours": caption_metrics(alone, references, embedder),
            "nearest_neighbour": caption_metrics(baseline, references, embedder),
            "nearest_pose_neighbour": caption_metrics([train[i].captions[0] for i in by_pose], references, embedder),
            "neighbours_consensus": caption_metrics(consensus, references, embedder),
            "neighbours": NEIGHBOURS,
            "caption_head": model.caption_head.fitted,
            "bertscore_encoder": "all-MiniLM-L6-v2 (local), last layer",
            "examples": [{"id": c.id, "reference": c.captions[0], "caption": o, "baseline": b}
                         for c, o, b in list(zip(clips, ours, baseline))[:8]]}


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
