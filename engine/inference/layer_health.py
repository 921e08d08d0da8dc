"""Feature health per layer of the motion encoder: LER and MOM (LoDE's dimension-collapse diagnostics).

Forward hooks on the encoder's input projection, on each factorised block and on its output projection keep
every layer's tokens (B, Tp, P, d) for a sample of motions; each layer's tokens are spread to the 22 joints
(a body-part token's features go to each of its joints, as MotionTokens.per_joint_features does) and every
(motion, joint) gives one matrix of its real time patches x channels. LER (local effective rank: exp of the
entropy of the l1-normalised singular values, averaged over matrices) and MOM (method-of-moments local
intrinsic dimension over each matrix's rows) are engine/metrics/feature_health.py's; the last row ("output")
is what `engine eval` reports as feature_health.

Low values mean collapse: a LER near 1 says each joint's features over time span about one direction (the
layer describes every moment of a motion alike); MOM near 1 says the moments lie along a line. Compare
layers of one model, or one layer across checkpoints trained on the same data; the absolute level depends on
the width and on the clip length.
"""
from __future__ import annotations

import numpy as np
import torch

from ..metrics.feature_health import local_effective_rank, method_of_moments
from ..models.encode import pad_batch, windows

MEANING = ("LER (local effective rank) is exp(entropy) of the normalised singular values of each joint's "
           "time x channel feature matrix: it counts how many independent directions a joint's features use "
           "over time. MOM is the method-of-moments local intrinsic dimension of the same rows. Low values (near "
           "1) mean dimension collapse: the layer describes every moment of a motion alike, so it cannot tell "
           "what happens when; healthy layers stay well above 1 and do not drop sharply from one layer to the next.")


def layer_names(model) -> list[str]:
    depth = len(model.motion_encoder.blocks)
    return ["input projection"] + [f"block {i + 1}" for i in range(depth)] + ["output"]


@torch.no_grad()
def layer_features(model, motions: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """{layer name: [(Tp_real, 22, C) per-joint features of each motion's first window]}."""
    encoder = model.motion_encoder
    modules = [encoder.project_in, *encoder.blocks, encoder.project_out]
    names = layer_names(model)
    captured: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out))
             for m, name in zip(modules, names)]
    out: dict[str, list[np.ndarray]] = {name: [] for name in names}
    try:
        for joints in motions:
            a, b = windows(len(joints), model.cfg.max_frames)[0]
            x, mask = pad_batch([np.asarray(joints[a:b], dtype=np.float32)], model.device)
            captured.clear()
            mt = model.motion_tokens(x, mask)
            for name in names:
                per_joint = captured[name].index_select(2, mt.joint_to_token)[0][mt.token_mask[0]]
                out[name].append(per_joint.float().cpu().numpy())
    finally:
        for h in hooks:
            h.remove()
    return out


def layer_health(model, motions: list[np.ndarray]) -> dict:
    """-> {"layers": [{"layer", "LER", "MOM", "MOM_median", "channels", "matrices"}], "motions": n, "meaning": str}.
    Motions with fewer than 3 time patches in their first window are skipped (MOM needs 3 rows)."""
    features = layer_features(model, motions)
    rows = []
    for name, per_motion in features.items():
        matrices = [m.transpose(1, 0, 2) for m in per_motion if m.shape[0] >= 3]   # (22, Tp, C) each
        stack = [joint for m in matrices for joint in m]
        ler = mom = median = None
        if stack:
            try:
                ler = local_effective_rank(stack)
                mom = method_of_moments(stack)
                median = _median_mom(stack)
            except ValueError:      # all-zero or degenerate features: no estimate
                pass
        rows.append({"layer": name, "LER": ler, "MOM": mom, "MOM_median": median,
                     "channels": int(per_motion[0].shape[-1]) if per_motion else None, "matrices": len(stack)})
    used = sum(1 for m in features[next(iter(features))] if m.shape[0] >= 3)
    return {"layers": rows, "motions": used, "meaning": MEANING}


def _median_mom(stack: list[np.ndarray]) -> float | None:
    """The median over matrices of each matrix's MOM. The mean (`method_of_moments`, what eval reports) explodes
    when some joint's features barely move over time (its farthest row is hardly farther than the mean row:
    mu / (omega - mu) blows up); the median is what most joints show."""
    values = []
    for matrix in stack:
        try:
            values.append(method_of_moments([matrix]))
        except ValueError:
            continue
    return float(np.median(values)) if values else None


def run_records(records: list[dict]) -> dict:
    """Feature-health values a training run logged in metrics.jsonl: LER / MOM keys as logged, and LER read
    from the 1/LER regulariser's term (`inverse_ler`, logged when train.inverse_ler > 0).
    -> {"series": {name: [(phase, step, value)]}, "phases": [...]}; empty series when none was logged."""
    series: dict[str, list] = {}
    for r in records:
        for key, value in r.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            low = key.lower()
            name = None
            if low in ("ler", "mom") or low.startswith(("ler_", "mom_", "ler/", "mom/")):
                name = key
            elif low == "inverse_ler" and value > 0:
                name, value = "LER (1 / inverse_ler)", 1.0 / value
            if name is not None:
                series.setdefault(name, []).append((r.get("phase"), r.get("step"), float(value)))
    return {"series": series, "phases": list(dict.fromkeys(r.get("phase") for r in records if r.get("phase")))}
