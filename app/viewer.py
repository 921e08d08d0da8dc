"""The 3D skeleton viewer: an animated plotly figure of a canonical motion, reused by every tab.

Canonical motions are Y-up with the body's left on +X, facing +Z. Plotly's 3D scene is Z-up
(its turntable orbit spins about z), so points are mapped (x, y, z) -> (-x, z, y). That is a
proper rotation (determinant +1), so the body is never mirrored: its left stays on its left.
"""
from __future__ import annotations

import uuid

import numpy as np
import plotly.graph_objects as go

from engine.render import (JOINT_NAMES, SIDE_COLOURS, SIDE_LABELS, SIDES, bones_by_side,
                           facing_direction, frame_indices, heat_colours, joint_colours)

MAX_ANIMATION_FRAMES = 150   # more frames than this are strided: the figure stays light and smooth
GRID_STEP_M = 0.5
MIN_FLOOR_M = 2.0            # the floor is at least this wide, so a standing pose is not cramped
FLOOR_COLOUR = "#c8c8c8"
PATH_COLOUR = "#8e44ad"
DYNAMIC_TRACES = [0, 1, 2, 3]
VIEWER_HEIGHT = 600  # bones left/right/centre and joints: what each animation frame replaces


def to_plotly(points: np.ndarray) -> np.ndarray:
    """Canonical (..., 3) points -> plotly scene coordinates (x, y, z) = (-x, z, y)."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([-points[..., 0], points[..., 2], points[..., 1]], axis=-1)


def _r(values: np.ndarray) -> list:
    """Millimetre rounding keeps the figure JSON small; None breaks a line between segments."""
    return [None if v is None or not np.isfinite(v) else round(float(v), 3) for v in values]


def _segments(pose: np.ndarray, bones: list[tuple[int, int]]) -> dict:
    """x, y, z lists for one line trace drawing every bone, separated by NaN gaps."""
    points = np.full((len(bones) * 3, 3), np.nan)
    for k, (parent, child) in enumerate(bones):
        points[3 * k], points[3 * k + 1] = pose[parent], pose[child]
    return {"x": _r(points[:, 0]), "y": _r(points[:, 1]), "z": _r(points[:, 2])}


HEAT_MARKER_SIZE = 6   # joints coloured by intensity are drawn bigger than side-coloured ones (4)


def _heat_marker(intensity: np.ndarray) -> dict:
    """Marker of the joints trace for one frame's (22,) intensities in [0, 1] (fixed scale, so frames compare)."""
    return dict(size=HEAT_MARKER_SIZE, color=heat_colours(intensity, 0.0, 1.0), line=dict(width=1, color="#7f2704"))


def _pose_traces(pose: np.ndarray, groups: dict, intensity: np.ndarray | None = None) -> list[dict]:
    """The four animated traces for one frame, in DYNAMIC_TRACES order (coordinates, and joint colours
    when an intensity is given)."""
    traces = [_segments(pose, groups[side]) for side in SIDES]
    traces.append({"x": _r(pose[:, 0]), "y": _r(pose[:, 1]), "z": _r(pose[:, 2])})
    if intensity is not None:
        traces[-1]["marker"] = _heat_marker(intensity)
        traces[-1]["customdata"] = [round(float(v), 2) for v in intensity]
    return [dict(t, type="scatter3d") for t in traces]


def _floor_bounds(ground: np.ndarray) -> tuple[float, float, float, float]:
    """Grid-snapped [x0, x1] x [y0, y1] covering every ground point with a margin."""
    lo, hi = ground.min(axis=0) - 0.4, ground.max(axis=0) + 0.4
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, MIN_FLOOR_M / 2)
    lo = np.floor((centre - half) / GRID_STEP_M) * GRID_STEP_M
    hi = np.ceil((centre + half) / GRID_STEP_M) * GRID_STEP_M
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _floor_grid(x0: float, x1: float, y0: float, y1: float) -> dict:
    xs, ys = [], []
    for x in np.arange(x0, x1 + 1e-6, GRID_STEP_M):
        xs += [x, x, None]
        ys += [y0, y1, None]
    for y in np.arange(y0, y1 + 1e-6, GRID_STEP_M):
        xs += [x0, x1, None]
        ys += [y, y, None]
    return dict(type="scatter3d", mode="lines", x=xs, y=ys, z=[0.0 if v is not None else None for v in xs],
                line=dict(color=FLOOR_COLOUR, width=1.5), hoverinfo="skip", showlegend=False, name="floor")


def front_eye(pose: np.ndarray) -> dict:
    """Camera eye in front of the first pose and a little to its left, raised: a three-quarter view.

    Equal axis scales make plotly's eye space a uniform scaling of the data, so a ground
    direction in data space is the same direction for the eye.
    """
    fx, fz = facing_direction(pose)
    left = np.array([fz, -fx])                       # the body's left, 90 degrees from its facing
    ex, ez = 1.15 * np.array([fx, fz]) + 0.7 * left  # canonical ground-plane direction of the eye
    eye = to_plotly(np.array([ex, 0.0, ez]))
    return dict(x=round(float(eye[0]), 3), y=round(float(eye[1]), 3), z=0.45)


def skeleton_figure(joints: np.ndarray, fps: float = 20.0, title: str = "",
                    joint_intensity: np.ndarray | None = None) -> go.Figure:
    """skeleton_parts as a plotly Figure (frames included)."""
    data, layout, frames = skeleton_parts(joints, fps, title, joint_intensity)
    return go.Figure(data=data, layout=layout, frames=frames)


def skeleton_parts(joints: np.ndarray, fps: float = 20.0, title: str = "",
                   joint_intensity: np.ndarray | None = None) -> tuple[list, dict, list]:
    """An animated 3D skeleton: side-coloured bones, joints, floor grid, root path, play/pause and a scrub slider.

    joints: (T, 22, 3) canonical positions in metres (Y up). Clips longer than
    MAX_ANIMATION_FRAMES are strided for the animation; the annotation says so.
    joint_intensity: optional (T, 22) values in [0, 1]; joints are then coloured per frame on the
    heat ramp (pale = low, dark red = high) instead of by side.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (len(JOINT_NAMES), 3) or joints.shape[0] == 0:
        raise ValueError(f"expected joints of shape (T, {len(JOINT_NAMES)}, 3), got {joints.shape}")
    heat = None
    if joint_intensity is not None:
        heat = np.clip(np.asarray(joint_intensity, dtype=np.float64), 0.0, 1.0)
        if heat.shape != joints.shape[:2]:
            raise ValueError(f"joint_intensity must have shape {joints.shape[:2]}, got {heat.shape}")
    total = joints.shape[0]
    shown = frame_indices(total, MAX_ANIMATION_FRAMES)
    step = int(shown[1] - shown[0]) if len(shown) > 1 else 1
    pts = to_plotly(joints)
    groups = bones_by_side()

    first = _pose_traces(pts[0], groups, None if heat is None else heat[0])
    for side, trace in zip(SIDES, first):
        trace.update(mode="lines", name=SIDE_LABELS[side], line=dict(color=SIDE_COLOURS[side], width=7),
                     hoverinfo="skip", legendgroup=side)
    first[3].update(mode="markers", name="joints", text=list(JOINT_NAMES), hovertemplate="%{text}<extra></extra>",
                    marker=dict(size=4, color=joint_colours(), line=dict(width=0)), showlegend=False)
    if heat is not None:
        first[3].update(marker=_heat_marker(heat[0]), hovertemplate="%{text}: %{customdata}<extra></extra>")

    x0, x1, y0, y1 = _floor_bounds(pts[:, :, :2].reshape(-1, 2))
    root = pts[:, 0]
    path = dict(type="scatter3d", mode="lines", name="root path", x=_r(root[:, 0]), y=_r(root[:, 1]),
                z=[0.003] * total, line=dict(color=PATH_COLOUR, width=4, dash="dot"), hoverinfo="skip")
    top = max(float(pts[..., 2].max()) + 0.15, 1.0)

    duration_s = total / fps
    frames = [dict(name=str(i), data=_pose_traces(pts[i], groups, None if heat is None else heat[i]),
                   traces=DYNAMIC_TRACES) for i in shown]
    frame_ms = 1000.0 * step / fps
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True,
                                 transition=dict(duration=0), mode="immediate")])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                                    mode="immediate")])
    steps = [dict(label=f"{i / fps:.1f}s", method="animate",
                  args=[[str(i)], dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0),
                                       mode="immediate")]) for i in shown]
    span = np.array([x1 - x0, y1 - y0, top])
    hidden_axis = dict(visible=False, showbackground=False)
    note = f"{total} frames · {fps:g} fps · {duration_s:.1f} s · grid {GRID_STEP_M:g} m"
    if step > 1:
        note += f" · animation shows one frame in {step} ({len(shown)} of {total})"
    if heat is not None:
        note += "<br>joints coloured by intensity: pale = low, dark red = high"
    layout = dict(
        title=dict(text=title or "motion", x=0.01, xanchor="left", font=dict(size=15)),
        height=VIEWER_HEIGHT, margin=dict(l=0, r=0, t=40, b=40), paper_bgcolor="white",
        modebar=dict(orientation="v", bgcolor="rgba(255,255,255,0.6)"),   # out of the title's and legend's way
        legend=dict(orientation="h", x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.7)", itemclick=False,
                    itemdoubleclick=False),
        scene=dict(xaxis=dict(hidden_axis, range=[x0, x1]), yaxis=dict(hidden_axis, range=[y0, y1]),
                   zaxis=dict(hidden_axis, range=[0.0, top]), aspectmode="manual",
                   aspectratio=dict(zip("xyz", (span / span.max()).round(4).tolist())),
                   camera=dict(up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.15), eye=front_eye(joints[0]))),
        annotations=[dict(text=note, showarrow=False, xref="paper", yref="paper", x=0.01, y=0.93,
                          xanchor="left", yanchor="top", align="left", font=dict(size=12, color="#555"))],
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top",
                          pad=dict(t=30, r=10), showactive=False, buttons=[play, pause])],
        sliders=[dict(active=0, x=0.2, y=0.0, len=0.78, xanchor="left", yanchor="top", pad=dict(t=20),
                      currentvalue=dict(prefix="t = ", font=dict(size=12)), transition=dict(duration=0),
                      font=dict(color="rgba(0,0,0,0)"), ticklen=0, minorticklen=0,  # 150 labels are noise
                      steps=steps)],
    )
    return first + [_floor_grid(x0, x1, y0, y1), path], layout, frames


def for_browser(fig: go.Figure) -> go.Figure:
    """Gradio's Plot calls Plotly.react(data, layout) and drops `frames`; carry them in layout.meta.

    FRAMES_LOADER_JS (loaded in the page head) re-attaches them with Plotly.addFrames, so the
    play button and slider work. A fresh id per figure tells the loader to replace old frames.
    """
    out = go.Figure(fig)
    frames = [f.to_plotly_json() for f in out.frames]
    out.frames = []
    out.update_layout(meta=dict(motionlex_id=uuid.uuid4().hex, motionlex_frames=frames))
    return out


def motion_plot(joints: np.ndarray, fps: float = 20.0, title: str = "",
                joint_intensity: np.ndarray | None = None) -> go.Figure:
    """What a tab hands to gr.Plot: the skeleton figure, ready for Gradio's plotly renderer (what for_browser
    makes, built without plotly validating every frame: the frames are plain data already)."""
    data, layout, frames = skeleton_parts(joints, fps, title, joint_intensity)
    fig = go.Figure(data=data, layout=layout)
    fig.update_layout(meta=dict(motionlex_id=uuid.uuid4().hex, motionlex_frames=frames))
    return fig


# Runs once per page: attaches the frames carried in layout.meta to each plotly graph div.
FRAMES_LOADER_JS = """
<script>
(() => {
  const sync = () => {
    if (!window.Plotly) return;
    document.querySelectorAll('.js-plotly-plot').forEach((gd) => {
      const meta = gd.layout && gd.layout.meta;
      if (!meta || !meta.motionlex_id || gd._motionlexId === meta.motionlex_id) return;
      gd._motionlexId = meta.motionlex_id;
      Promise.resolve(Plotly.animate(gd, [], {mode: 'immediate'}))
        .catch(() => {})
        .then(() => Plotly.deleteFrames(gd))
        .then(() => Plotly.addFrames(gd, meta.motionlex_frames || []))
        .then(() => { gd.dataset.motionlexFrames = String((meta.motionlex_frames || []).length); });
    });
  };
  setInterval(sync, 250);
})();
</script>
"""


def pair_figure(left: np.ndarray, right: np.ndarray, fps: float = 20.0, titles: tuple[str, str] = ("", ""),
                title: str = "") -> go.Figure:
    """Two motions side by side in one figure (two 3D scenes) driven by one play button and one slider, so
    the animations stay in step frame for frame. The shorter motion holds its last pose."""
    frames = max(len(left), len(right))
    pad = lambda j: np.concatenate([j, np.repeat(j[-1:], frames - len(j), axis=0)]) if len(j) < frames else j  # noqa: E731
    a, b = skeleton_figure(pad(np.asarray(left)), fps, titles[0]), skeleton_figure(pad(np.asarray(right)), fps, titles[1])
    n = len(a.data)
    data = list(a.data)
    for trace in b.data:
        trace = go.Scatter3d(trace)
        trace.update(scene="scene2", showlegend=False)
        data.append(trace)
    dynamic = DYNAMIC_TRACES + [n + t for t in DYNAMIC_TRACES]
    merged = [dict(name=fa.name, data=list(fa.data) + list(fb.data), traces=dynamic) for fa, fb in zip(a.frames, b.frames)]
    fig = go.Figure(data=data, layout=a.layout, frames=merged)
    scene2 = b.layout.scene.to_plotly_json()
    fig.update_layout(scene=dict(domain=dict(x=[0.0, 0.49], y=[0.0, 0.9])),
                      scene2=dict(scene2, domain=dict(x=[0.51, 1.0], y=[0.0, 0.9])),
                      title=dict(text=title or "base vs SoPo (one slider drives both)"), height=VIEWER_HEIGHT)
    notes = [dict(text=f"<b>{t}</b>", showarrow=False, xref="paper", yref="paper", x=x, y=0.93, xanchor="center",
                  font=dict(size=14)) for t, x in zip(titles, (0.245, 0.755))]
    fig.layout.annotations = notes + [dict(a.layout.annotations[0].to_plotly_json(), y=0.985, x=0.99, xanchor="right")]
    return fig


def pair_plot(left: np.ndarray, right: np.ndarray, fps: float = 20.0, titles: tuple[str, str] = ("", ""),
              title: str = "") -> go.Figure:
    return for_browser(pair_figure(left, right, fps, titles, title))
