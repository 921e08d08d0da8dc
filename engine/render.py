"""Drawing a canonical motion: side colours, bone groups, frame subsampling, heatmap colours, and rendered
skeleton frames (key-frame strips, GIF / MP4 files and the SMPL check: engine/render_files.py).

The interactive plotly figure lives in app/viewer.py (engine never imports a UI library). Rendered frames
(`render_frames`) come from pyrender (headless EGL, trimesh cylinders and spheres: left side blue, right side
orange, joints coloured by a per-joint intensity when given, a checkered floor, a camera that follows the
root) or, when EGL or pyrender is missing, from matplotlib (logged once). pyrender, trimesh, imageio and
matplotlib are imported on first use only. OpenGL contexts belong to one thread, so every pyrender call runs
on one render thread of its own.

SMPL meshes: `render_files.smpl_status(folder)` says whether licensed SMPL model files and the smplx package are there;
they never are by default, and skeletons are what is drawn (see README, "Rendering").
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .skeleton import BONES, JOINT_NAMES, NUM_JOINTS, side_of

__all__ = ["JOINT_NAMES", "SIDE_COLOURS", "SIDE_LABELS", "SIDES", "joint_colours", "bones_by_side",
           "frame_indices", "heat_colours", "facing_direction", "render_frames", "render_backend"]

from .render_style import (HEAT_RAMP, SIDE_COLOURS, SIDE_LABELS, SIDES, bones_by_side, facing_direction,  # noqa: F401,E402
                           frame_indices, heat_colours, joint_colours, _hex_to_rgb)


# ---------------------------------------------------------------------------------------------------------
# Rendered frames: pyrender (EGL, headless) or matplotlib, and GIF / MP4 files.
# ---------------------------------------------------------------------------------------------------------
log = logging.getLogger("motionlex.render")

BACKEND_ENV = "MOTIONLEX_RENDERER"        # "pyrender" (default when it works) or "matplotlib"
SMPL_ENV = "MOTIONLEX_SMPL_DIR"           # a folder with licensed SMPL model files (never needed)
DEFAULT_SIZE = (320, 320)                 # width, height; multiples of 16 so MP4 encoders take them as is
BONE_RADIUS_M, JOINT_RADIUS_M = 0.022, 0.032
HEAT_RADIUS_M = (0.026, 0.062)            # joint radius at intensity 0 and 1: the hot joints stand out
HEAT_BONE_FADE = 0.3                      # side colours blended this far toward white under a heat map
FLOOR_TILE_M, FLOOR_TILES = 0.5, 48       # a 24 m checkered floor that moves with the root in 1 m steps
FLOOR_COLOURS = ((0.86, 0.86, 0.86), (0.74, 0.74, 0.74))
CAMERA_DISTANCE_M, CAMERA_HEIGHT_M, LOOK_HEIGHT_M = 3.1, 1.45, 0.85
CAMERA_FOLLOW_S = 0.75                    # the camera's target is the root averaged over this long a window

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motionlex-render")
_state: dict = {"backend": None, "renderers": {}, "scene": None, "warned": False}
_state_lock = threading.Lock()


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(float(c) / 255.0 for c in _hex_to_rgb(colour))


def _check_joints(joints: np.ndarray, intensity: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or len(joints) == 0:
        raise ValueError(f"expected joints of shape (T, {NUM_JOINTS}, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints hold NaN or infinite values")
    if intensity is not None:
        intensity = np.clip(np.asarray(intensity, dtype=np.float64), 0.0, 1.0)
        if intensity.shape != joints.shape[:2]:
            raise ValueError(f"intensity must have shape {joints.shape[:2]}, got {intensity.shape}")
    return joints, intensity


def camera_targets(joints: np.ndarray, fps: float = 20.0) -> np.ndarray:
    """(T, 3) points the camera looks at: the root's ground position averaged over CAMERA_FOLLOW_S (so the
    view follows a walk without shaking at every step), at a fixed height."""
    root = np.asarray(joints, dtype=np.float64)[:, 0]
    half = max(1, int(round(CAMERA_FOLLOW_S * fps / 2)))
    padded = np.concatenate([np.repeat(root[:1], half, 0), root, np.repeat(root[-1:], half, 0)])
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)], axis=1)
    smooth[:, 1] = LOOK_HEIGHT_M
    return smooth


def camera_direction(joints: np.ndarray) -> np.ndarray:
    """Unit 3D direction from the target to the eye: in front of the first pose and to its left, raised
    (the viewer's three-quarter view), fixed for the whole clip."""
    fx, fz = facing_direction(np.asarray(joints[0], dtype=np.float64))
    left = np.array([fz, -fx])
    ground = 1.15 * np.array([fx, fz]) + 0.7 * left
    ground /= np.linalg.norm(ground)
    d = np.array([ground[0], 0.0, ground[1]]) * CAMERA_DISTANCE_M
    d[1] = CAMERA_HEIGHT_M - LOOK_HEIGHT_M
    return d / np.linalg.norm(d)


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """4x4 camera-to-world pose of an OpenGL camera at `eye` looking at `target` (it looks down its -Z)."""
    z = np.asarray(eye, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(up, dtype=np.float64), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def camera_poses(joints: np.ndarray, fps: float = 20.0) -> np.ndarray:
    """(T, 4, 4) camera poses that follow the root (set here: pyrender's own bounds break under numpy 2)."""
    targets = camera_targets(joints, fps)
    offset = camera_direction(joints) * CAMERA_DISTANCE_M
    return np.stack([look_at(t + offset, t) for t in targets])


def _bone_matrix(a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Pose of the unit cylinder (radius 1, height 1, along Z, centred) drawn from a to b."""
    d = b - a
    length = float(np.linalg.norm(d))
    m = np.eye(4)
    if length < 1e-6:
        m[:3, :3] *= 1e-4
        m[:3, 3] = a
        return m
    z = d / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m[:3, :3] = np.stack([x * radius, y * radius, z * length], axis=1)
    m[:3, 3] = (a + b) / 2
    return m


def _joint_matrix(p: np.ndarray, radius: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] *= radius
    m[:3, 3] = p
    return m


def _frame_colours(intensity_row: np.ndarray | None) -> list[tuple[float, float, float]]:
    if intensity_row is None:
        return [_rgb(c) for c in joint_colours()]
    return [_rgb(c) for c in heat_colours(intensity_row, 0.0, 1.0)]


def render_backend() -> str:
    """"pyrender" or "matplotlib": what render_frames will use (pyrender is tried once; a failure is
    logged once and matplotlib is used from then on)."""
    with _state_lock:
        if _state["backend"] is None:
            wanted = os.environ.get(BACKEND_ENV, "pyrender").strip().lower()
            if wanted == "matplotlib":
                _state["backend"] = "matplotlib"
            else:
                try:
                    _executor.submit(_pyrender_renderer, DEFAULT_SIZE).result()
                    _state["backend"] = "pyrender"
                except Exception as err:  # noqa: BLE001 - no EGL, no pyrender, no GL driver: fall back
                    log.warning("pyrender (EGL) is not available (%s: %s); rendering skeletons with matplotlib",
                                type(err).__name__, err)
                    _state["backend"] = "matplotlib"
        return _state["backend"]


def render_frames(joints: np.ndarray, fps: float = 20.0, intensity: np.ndarray | None = None,
                  size: tuple[int, int] = DEFAULT_SIZE, frames: np.ndarray | list[int] | None = None,
                  label: str | None = None) -> list[np.ndarray]:
    """RGB uint8 images (H, W, 3) of a canonical motion (T, 22, 3), one per index in `frames` (all by default).

    intensity: optional (T, 22) values in [0, 1]; joints are then coloured on HEAT_RAMP (pale = low, dark
    red = high) and drawn bigger, bones keep their side colours. label: text written on every frame, with
    the frame's time."""
    joints, intensity = _check_joints(joints, intensity)
    index = np.arange(len(joints)) if frames is None else np.asarray(frames, dtype=int)
    if len(index) and (index.min() < 0 or index.max() >= len(joints)):
        raise ValueError(f"frame indices must be within 0..{len(joints) - 1}")
    poses = camera_poses(joints, fps)
    if render_backend() == "pyrender":
        try:
            images = _executor.submit(_render_pyrender, joints, intensity, poses, index, tuple(size)).result()
        except Exception as err:  # noqa: BLE001 - a GL failure mid-run: fall back for good, once logged
            with _state_lock:
                _state["backend"] = "matplotlib"
            log.warning("pyrender failed (%s: %s); rendering skeletons with matplotlib from now on",
                        type(err).__name__, err)
            images = _render_matplotlib(joints, intensity, poses, index, tuple(size))
    else:
        images = _render_matplotlib(joints, intensity, poses, index, tuple(size))
    if label is not None:
        images = [_write_label(img, f"{label}  {i / fps:.1f} s" if label else f"{i / fps:.1f} s")
                  for img, i in zip(images, index)]
    return images


def _write_label(image: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=max(10, image.shape[0] // 24))
    except TypeError:   # an old Pillow without sized default fonts
        font = ImageFont.load_default()
    draw.text((6, image.shape[0] - 6), text, fill=(40, 40, 40), anchor="ls", font=font)
    return np.asarray(img)


# ---- pyrender (runs on the render thread only) --------------------------------------------------------
def _pyrender_renderer(size: tuple[int, int]):
    """The one OffscreenRenderer (one GL context; other sizes resize its framebuffer)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender

    renderer = _state["renderers"].get("main")
    if renderer is None:
        renderer = _state["renderers"]["main"] = pyrender.OffscreenRenderer(size[0], size[1])
    if (renderer.viewport_width, renderer.viewport_height) != tuple(size):
        renderer.viewport_width, renderer.viewport_height = size
    return renderer


def _tube(sections: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An open unit tube along Z (radius 1, z in [-0.5, 0.5]): vertices, radial normals, faces. The joint
    spheres close its ends."""
    angles = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles), np.zeros(sections)], axis=1)
    vertices = np.concatenate([ring + [0, 0, -0.5], ring + [0, 0, 0.5]])
    normals = np.concatenate([ring, ring])
    k = np.arange(sections)
    nxt = (k + 1) % sections
    faces = np.concatenate([np.stack([k, nxt, k + sections], 1), np.stack([nxt, nxt + sections, k + sections], 1)])
    return vertices, normals, faces


def _unit_meshes() -> dict:
    if "unit" not in _state:
        import trimesh

        sphere = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
        _state["unit"] = {"tube": _tube(), "sphere": (np.asarray(sphere.vertices), np.asarray(sphere.vertices),
                                                      np.asarray(sphere.faces))}
    return _state["unit"]


def skeleton_mesh(pose: np.ndarray, colours: list[tuple[float, float, float]], joint_radius, bone_fade: float = 0.0) -> dict:
    """One frame's skeleton as one triangle mesh (tubes for bones, spheres for joints) with per-vertex colours:
    {"positions" (V, 3), "normals" (V, 3), "colours" (V, 4), "faces" (F, 3)}. One mesh is one draw call,
    which is what makes software GL fast enough."""
    unit = _unit_meshes()
    tv, tn, tf = unit["tube"]
    sv, sn, sf = unit["sphere"]
    bones = np.stack([_bone_matrix(pose[p], pose[c], BONE_RADIUS_M) for p, c in BONES])       # (B, 4, 4)
    rot = bones[:, :3, :3] / np.maximum(np.linalg.norm(bones[:, :3, :3], axis=1, keepdims=True), 1e-12)
    positions = [np.einsum("bij,vj->bvi", bones[:, :3, :3], tv) + bones[:, None, :3, 3],
                 pose[:, None, :] + np.broadcast_to(np.asarray(joint_radius, dtype=np.float64), (len(pose),))[:, None, None] * sv[None]]
    normals = [np.einsum("bij,vj->bvi", rot, tn), np.repeat(sn[None], len(pose), axis=0)]
    side = np.array([_rgb(SIDE_COLOURS[side_of(c)]) for _, c in BONES])
    side = side + (1.0 - side) * bone_fade
    vertex_colours = [np.repeat(side[:, None], len(tv), axis=1),
                      np.repeat(np.array(colours)[:, None], len(sv), axis=1)]
    faces = [(tf[None] + len(tv) * np.arange(len(BONES))[:, None, None]).reshape(-1, 3),
             (sf[None] + len(sv) * np.arange(len(pose))[:, None, None]).reshape(-1, 3) + len(BONES) * len(tv)]
    flat = lambda parts: np.concatenate([p.reshape(-1, p.shape[-1]) for p in parts])   # noqa: E731
    colour = flat(vertex_colours)
    return {"positions": flat(positions).astype(np.float32), "normals": flat(normals).astype(np.float32),
            "colours": np.concatenate([colour, np.ones((len(colour), 1))], axis=1).astype(np.float32),
            "faces": np.concatenate(faces).astype(np.uint32)}


def _heat_radius(row: np.ndarray) -> np.ndarray:
    return HEAT_RADIUS_M[0] + (HEAT_RADIUS_M[1] - HEAT_RADIUS_M[0]) * np.asarray(row, dtype=np.float64)


def _pyrender_scene():
    """The parts every render reuses: the scene with its floor, camera and light (the skeleton mesh is added
    per frame)."""
    if _state["scene"] is not None:
        return _state["scene"]
    import pyrender

    scene = pyrender.Scene(bg_color=[1.0, 1.0, 1.0, 1.0], ambient_light=[0.45, 0.45, 0.45])
    floor = scene.add(pyrender.Mesh.from_trimesh(_floor_mesh(), smooth=False))
    camera = scene.add(pyrender.PerspectiveCamera(yfov=np.deg2rad(40.0), znear=0.05, zfar=60.0))
    light = scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=2.2))
    material = pyrender.MetallicRoughnessMaterial(baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0,
                                                  roughnessFactor=0.7)
    _state["scene"] = {"scene": scene, "floor": floor, "camera": camera, "light": light, "material": material}
    return _state["scene"]


def _floor_mesh():
    import trimesh

    n, s = FLOOR_TILES, FLOOR_TILE_M
    vertices, faces, colours = [], [], []
    for i in range(n):
        for j in range(n):
            x0, z0 = (i - n / 2) * s, (j - n / 2) * s
            k = len(vertices)
            vertices += [(x0, 0.0, z0), (x0 + s, 0.0, z0), (x0 + s, 0.0, z0 + s), (x0, 0.0, z0 + s)]
            faces += [(k, k + 2, k + 1), (k, k + 3, k + 2)]     # counter-clockwise seen from above (+Y)
            colour = [int(255 * c) for c in FLOOR_COLOURS[(i + j) % 2]] + [255]
            colours += [colour, colour]
    return trimesh.Trimesh(np.array(vertices), np.array(faces), face_colors=np.array(colours, dtype=np.uint8),
                           process=False)


def _render_pyrender(joints, intensity, poses, index, size) -> list[np.ndarray]:
    plain = _frame_colours(None)

    def mesh_of(i):
        if intensity is None:
            return skeleton_mesh(joints[i], plain, JOINT_RADIUS_M)
        return skeleton_mesh(joints[i], _frame_colours(intensity[i]), _heat_radius(intensity[i]), HEAT_BONE_FADE)
    return _render_pyrender_meshes(mesh_of, poses, index, size)


def draw_meshes(mesh_of, poses: np.ndarray, index, size: tuple[int, int] = DEFAULT_SIZE) -> list[np.ndarray]:
    """pyrender images of one mesh per frame (mesh_of(i) -> a `skeleton_mesh`-style dict) in the same scene,
    floor and cameras as skeletons (e.g. SMPL bodies, engine/render_mesh.py). Needs pyrender: no fallback."""
    if render_backend() != "pyrender":
        raise RuntimeError("drawing meshes needs pyrender with EGL")
    return _executor.submit(_render_pyrender_meshes, mesh_of, poses, np.asarray(index, dtype=int), tuple(size)).result()


def _render_pyrender_meshes(mesh_of, poses, index, size) -> list[np.ndarray]:
    import pyrender

    renderer = _pyrender_renderer(size)
    parts = _pyrender_scene()
    scene = parts["scene"]
    images = []
    for i in index:
        mesh = mesh_of(i)
        primitive = pyrender.Primitive(positions=mesh["positions"], normals=mesh["normals"],
                                       color_0=mesh["colours"], indices=mesh["faces"], material=parts["material"])
        node = scene.add(pyrender.Mesh([primitive]))
        floor = np.eye(4)
        floor[[0, 2], 3] = np.round(poses[i][[0, 2], 3] / (2 * FLOOR_TILE_M)) * 2 * FLOOR_TILE_M
        scene.set_pose(parts["floor"], floor)
        scene.set_pose(parts["camera"], poses[i])
        scene.set_pose(parts["light"], poses[i])
        try:
            colour, _ = renderer.render(scene)
        finally:
            scene.remove_node(node)
        images.append(np.ascontiguousarray(colour[..., :3]))
    return images


# ---- matplotlib fallback ------------------------------------------------------------------------------
def _render_matplotlib(joints, intensity, poses, index, size) -> list[np.ndarray]:
    """The same picture drawn by projecting through the same cameras onto a 2D matplotlib canvas."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = size
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    focal = 1.0 / np.tan(np.deg2rad(40.0) / 2)
    groups = bones_by_side()
    plain = joint_colours()
    images = []
    for i in index:
        ax.clear()
        ax.set_xlim(-w / h, w / h)
        ax.set_ylim(-1, 1)
        ax.axis("off")
        world_to_cam = np.linalg.inv(poses[i])

        def project(points):
            p = (world_to_cam[:3, :3] @ np.asarray(points, dtype=np.float64).T + world_to_cam[:3, 3:4]).T
            depth = np.maximum(-p[:, 2], 1e-3)
            return np.stack([focal * p[:, 0] / depth, focal * p[:, 1] / depth], axis=1), depth

        cx, cz = np.round(poses[i][[0, 2], 3] / (2 * FLOOR_TILE_M)) * 2 * FLOOR_TILE_M
        for k in np.arange(-8, 8.01, FLOOR_TILE_M):
            for a, b in (([cx + k, 0, cz - 8], [cx + k, 0, cz + 8]), ([cx - 8, 0, cz + k], [cx + 8, 0, cz + k])):
                line = np.linspace(a, b, 40)
                xy, depth = project(line)
                keep = depth > 0.1
                ax.plot(xy[keep, 0], xy[keep, 1], color="#c8c8c8", lw=0.6, zorder=0)
        xy, _ = project(joints[i])
        fade = 0.0 if intensity is None else HEAT_BONE_FADE
        for side in SIDES:
            colour = np.array(_rgb(SIDE_COLOURS[side]))
            for parent, child in groups[side]:
                ax.plot(xy[[parent, child], 0], xy[[parent, child], 1], color=colour + (1 - colour) * fade, lw=3,
                        solid_capstyle="round", zorder=2)
        colours = plain if intensity is None else heat_colours(intensity[i], 0.0, 1.0)
        sizes = 18 if intensity is None else (10 + 80 * intensity[i])
        ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=colours, zorder=3,
                   edgecolors="#7f2704" if intensity is not None else "none", linewidths=0.6)
        canvas.draw()
        images.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return images
