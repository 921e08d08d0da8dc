"""Per-joint attention maps of the motion encoder by gradient x input (the lexical seed's Fig. 3 / Fig. 7).

The `tiny` model's tokens are 7 body parts, so its features cannot tell the 4 joints of an arm apart: a PCA
map of the features repeats each part's value on every joint of that part. What does differ per joint is the
encoder's *input*: per joint and frame, a position and a velocity (engine/models/motion_features.py). So a
per-joint map is read off the gradient of one scalar target with respect to those inputs, times the inputs
(gradient x input, summed over the joint's 6 input numbers, absolute value):

  target "pca":  the energy of PCA component c of the encoder's per-joint features, sum over (time, joint)
                 of ((f - mean) . v_c)^2, with the principal axis v_c of the same motion's features (as the
                 Caption & Explain PCA map computes it): which joints and frames make the component strong;
  target "word": the word's weight before the max over windows and the top-k / normalisation of scoring,
                 max over windows of log(1 + relu(LM-head logit)) (Eq. 2): which joints and frames made the
                 word fire (e.g. which joints made "left" fire).

The input tensors are made leaves inside the encoder by a forward pre-hook on its input projection (the
features it receives, positions and velocities, are replaced by copies that require gradients), so every
path that reads them (the per-part MLPs and, with MoT++, the foot-contact MLP) is included; no weight
changes and no weight gradient is kept. One forward and one backward pass over the motion's windows.
"""
from __future__ import annotations

import numpy as np
import torch

from ..models.encode import pad_batch, windows
from ..models.motion_encoder import patchify
from ..models.motion_features import MotionFeatures

METHOD = {"pca": "gradient x input of the PCA component's energy over the encoder features, per input joint "
                 "(position and velocity, summed), absolute value, scaled to the map's maximum",
          "word": "gradient x input of the word's weight (its max over windows before scoring), per input joint "
                  "(position and velocity, summed), absolute value, scaled to the map's maximum"}


def _forward_with_input_leaves(model, joints: np.ndarray):
    """The motion's windows through the encoder with the per-joint inputs as gradient leaves:
    -> (MotionTokens, spans, positions leaf, velocities leaf)."""
    spans = windows(len(joints), model.cfg.max_frames)
    x, mask = pad_batch([joints[a:b] for a, b in spans], model.device)
    encoder = model.motion_encoder
    leaves: dict = {}

    def hook(module, args):
        _, features = args
        positions = features.positions.detach().requires_grad_(True)
        velocities = features.velocities.detach().requires_grad_(True)
        replaced = MotionFeatures(positions, velocities, features.size.detach(), features.frame_mask)
        patched, _ = patchify(replaced.inputs(), replaced.frame_mask, encoder.cfg.patch_frames)
        leaves.update(positions=positions, velocities=velocities)
        return patched, replaced

    handle = encoder.project_in.register_forward_pre_hook(hook)
    try:
        mt = model.motion_tokens(x, mask)
    finally:
        handle.remove()
    return mt, spans, leaves["positions"], leaves["velocities"]


def _patch_sources(spans, patch: int, frames: int) -> list[tuple[int, int]]:
    """(window, patch within window) each time patch of the whole motion is read from (the first window that
    covers it, as engine/models/encode.py assembles the features)."""
    out = []
    for i in range(-(-frames // patch)):
        frame = i * patch
        w = next(k for k, (a, b) in enumerate(spans) if a <= frame < b)
        out.append((w, (frame - spans[w][0]) // patch))
    return out


def _per_frame(attribution: torch.Tensor, spans, frames: int) -> np.ndarray:
    """(W, T_w, 22) per-window attributions -> (frames, 22), summed where windows overlap (a target reads each
    frame through the windows it used, so only those carry a gradient)."""
    out = np.zeros((frames, attribution.shape[-1]), dtype=np.float64)
    values = attribution.detach().float().cpu().numpy()
    for w, (a, b) in enumerate(spans):
        out[a:b] += values[w, : b - a]
    return out


def pca_axes(features: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(Tp, 22, C) features -> (mean (C,), principal axes (k, C), explained variance shares), as
    engine/explain.pca_intensities computes them."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(components, vt.shape[0])
    variance = singular ** 2
    return mean, vt[:k], (variance[:k] / max(variance.sum(), 1e-12)).tolist()


def joint_attribution(model, joints: np.ndarray, target: str = "pca", component: int = 1,
                      term: int | None = None) -> dict:
    """Gradient x input per frame and joint of one target (module doc).

    joints: (T, 22, 3) canonical; component: 1-based PCA component (target "pca"); term: the word's position
    in the model's lexicon (target "word").
    -> {"map": (T, 22) float32 in [0, 1], "signed": (T, 22) float32 (the summed gradient x input before the
        absolute value), "target_value": float, "method": str, "explained": float (pca only)}
    """
    if target not in METHOD:
        raise ValueError(f"target must be 'pca' or 'word', not {target!r}")
    joints = np.asarray(joints, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            mt, spans, positions, velocities = _forward_with_input_leaves(model, joints)
            extra = {}
            if target == "pca":
                per_joint = mt.per_joint_features()                               # (W, Tp_w, 22, C)
                sources = _patch_sources(spans, model.cfg.patch_frames, len(joints))
                feats = torch.stack([per_joint[w, t] for w, t in sources]).float()   # (Tp, 22, C)
                mean, axes, explained = pca_axes(feats.detach().cpu().numpy(), component)
                if component < 1 or component > len(axes):
                    raise ValueError(f"component must be between 1 and {len(axes)}, not {component}")
                axis = torch.as_tensor(axes[component - 1], dtype=feats.dtype, device=feats.device)
                centred = feats - torch.as_tensor(mean, dtype=feats.dtype, device=feats.device)
                value = ((centred @ axis) ** 2).sum()
                extra["explained"] = float(explained[component - 1])
            else:
                if term is None:
                    raise ValueError("target 'word' needs the word's lexicon position")
                window_p = model.motion_lexical_from_tokens(mt)                    # (W, L)
                value = window_p[:, int(term)].max()
            grads = torch.autograd.grad(value, [positions, velocities], allow_unused=True)
        contribution = sum((g * leaf).sum(-1) for g, leaf in zip(grads, (positions, velocities)) if g is not None)
        if not torch.is_tensor(contribution):   # the target does not depend on the inputs at all
            contribution = torch.zeros(positions.shape[:-1])
        signed = _per_frame(contribution, spans, len(joints))
    finally:
        model.train(was_training)
    magnitude = np.abs(signed)
    top = magnitude.max()
    scaled = magnitude / top if top > 0 else magnitude
    return {"map": scaled.astype(np.float32), "signed": signed.astype(np.float32),
            "target_value": float(value.detach()), "method": METHOD[target], **extra}


def summarise(attribution: np.ndarray, joint_names, fps: float, top: int = 5) -> dict:
    """The joints and moments that carry most of a (T, 22) attribution: {"joints": [(name, share)],
    "peak_s": (start, end) of the 1 s span with the most attribution}."""
    magnitude = np.abs(np.asarray(attribution, dtype=np.float64))
    total = magnitude.sum()
    per_joint = magnitude.sum(axis=0) / total if total > 0 else np.zeros(magnitude.shape[1])
    order = np.argsort(-per_joint)[:top]
    span = max(1, int(round(fps)))
    per_frame = magnitude.sum(axis=1)
    if len(per_frame) > span:
        window = np.convolve(per_frame, np.ones(span), mode="valid")
        start = int(np.argmax(window))
    else:
        start, span = 0, len(per_frame)
    return {"joints": [(joint_names[j], round(float(per_joint[j]), 3)) for j in order],
            "peak_s": (round(start / fps, 2), round((start + span) / fps, 2))}
