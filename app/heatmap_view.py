"""PCA intensity maps: patches -> frames, and the joints x time heatmap (the seed's Fig. 3)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from engine.render import HEAT_RAMP, JOINT_NAMES

# Joints listed top to bottom the way a body reads: head first, then arms, spine, legs.
BODY_ORDER = ("head", "neck", "spine3", "spine2", "spine1", "pelvis",
              "l_collar", "l_shoulder", "l_elbow", "l_wrist", "r_collar", "r_shoulder", "r_elbow", "r_wrist",
              "l_hip", "l_knee", "l_ankle", "l_foot", "r_hip", "r_knee", "r_ankle", "r_foot")
ROWS = [JOINT_NAMES.index(name) for name in BODY_ORDER]


def expand_patches(intensity: np.ndarray, frames_per_patch: int, frames: int) -> np.ndarray:
    """(Tp, 22) per-patch values -> (frames, 22) per-frame values (each patch covers frames_per_patch
    frames; the last patch is repeated or cut so the result matches the motion's length)."""
    intensity = np.asarray(intensity, dtype=np.float32)
    if intensity.ndim != 2 or intensity.shape[0] == 0:
        raise ValueError(f"expected (patches, joints) intensities, got shape {intensity.shape}")
    per_frame = np.repeat(intensity, max(1, int(frames_per_patch)), axis=0)
    if per_frame.shape[0] < frames:
        per_frame = np.concatenate([per_frame, np.repeat(per_frame[-1:], frames - per_frame.shape[0], axis=0)])
    return per_frame[:frames]


def pca_heatmap(intensity: np.ndarray, frames_per_patch: int, fps: float = 20.0, component: int = 1,
                explained: float | None = None) -> go.Figure:
    """Joints (y, named, in body order) x time in seconds (x, patch centres) of one component's intensities."""
    intensity = np.asarray(intensity, dtype=np.float32)
    patches, joints = intensity.shape
    if joints != len(JOINT_NAMES):
        raise ValueError(f"expected {len(JOINT_NAMES)} joints, got {joints}")
    seconds = (np.arange(patches) + 0.5) * frames_per_patch / fps
    share = f" · {100 * explained:.0f}% of the variance" if explained is not None else ""
    ramp = [[i / (len(HEAT_RAMP) - 1), c] for i, c in enumerate(HEAT_RAMP)]
    fig = go.Figure(go.Heatmap(
        z=intensity[:, ROWS].T.round(3), x=seconds.round(3), y=list(BODY_ORDER), zmin=0.0, zmax=1.0,
        colorscale=ramp, colorbar=dict(title="intensity", thickness=12),
        hovertemplate="%{y} at %{x:.2f} s: %{z:.2f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=f"PCA component {component}{share}", x=0.01, xanchor="left", font=dict(size=15)),
        height=520, margin=dict(l=90, r=10, t=45, b=45), paper_bgcolor="white", plot_bgcolor="white",
        xaxis=dict(title="time (s)"), yaxis=dict(autorange="reversed", tickfont=dict(size=11), dtick=1))
    return fig


def _ramp():
    return [[i / (len(HEAT_RAMP) - 1), c] for i, c in enumerate(HEAT_RAMP)]


def joint_time_heatmap(values: np.ndarray, fps: float = 20.0, title: str = "", scale_title: str = "share of max",
                       note: str = "") -> go.Figure:
    """(T, 22) per-frame, per-joint values in [0, 1] as 22 named joint rows (body order) x time in seconds,
    with a colour-scale legend."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[1] != len(JOINT_NAMES) or values.shape[0] == 0:
        raise ValueError(f"expected (frames, {len(JOINT_NAMES)}) values, got shape {values.shape}")
    seconds = (np.arange(values.shape[0]) + 0.5) / fps
    fig = go.Figure(go.Heatmap(
        z=values[:, ROWS].T.round(3).tolist(), x=seconds.round(3).tolist(), y=list(BODY_ORDER), zmin=0.0, zmax=1.0,
        colorscale=_ramp(), colorbar=dict(title=dict(text=scale_title, side="right"), thickness=12, len=0.9),
        hovertemplate="%{y} at %{x:.2f} s: %{z:.2f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
        height=540, margin=dict(l=90, r=20, t=50, b=70 if note else 45), paper_bgcolor="white", plot_bgcolor="white",
        xaxis=dict(title="time (s)"), yaxis=dict(autorange="reversed", tickfont=dict(size=11), dtick=1),
        annotations=[dict(text=note, showarrow=False, xref="paper", yref="paper", x=0, y=-0.16, xanchor="left",
                          font=dict(size=11, color="#555"))] if note else [])
    return fig


def word_timeline_figure(timeline: dict, title: str = "Words over time") -> go.Figure:
    """Top words (rows, heaviest on top) x time (patch centres in seconds) of a word timeline."""
    values = np.asarray(timeline["values"], dtype=np.float32)
    words = list(timeline["words"])
    top = float(values.max()) if values.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=values.round(3).tolist(), x=np.asarray(timeline["seconds"]).round(3).tolist(), y=words, zmin=0.0, zmax=max(top, 1e-6),
        colorscale=_ramp(), colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.9),
        hovertemplate="%{y} at %{x:.2f} s: %{z:.2f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
        height=max(260, 80 + 26 * len(words)), margin=dict(l=100, r=20, t=45, b=45), paper_bgcolor="white",
        plot_bgcolor="white", xaxis=dict(title="time (s)"), yaxis=dict(autorange="reversed", dtick=1))
    return fig
