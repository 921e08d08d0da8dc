"""Rendered motions as files and strips: key-frame strips, GIF and MP4 (imageio with its ffmpeg plugin), and
whether licensed SMPL model files are there (never required: skeletons are what is drawn)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .render import _check_joints, render_frames, DEFAULT_SIZE, SMPL_ENV  # noqa: F401


def key_frame_strip(joints: np.ndarray, fps: float = 20.0, intensity: np.ndarray | None = None, count: int = 6,
                    size: tuple[int, int] = (192, 240)) -> tuple[np.ndarray, list[float]]:
    """`count` evenly spaced key frames side by side in one RGB image, each labelled with its time; returns
    (image, the key frames' times in seconds)."""
    joints, intensity = _check_joints(joints, intensity)
    picks = np.unique(np.linspace(0, len(joints) - 1, max(1, count)).round().astype(int))
    images = render_frames(joints, fps, intensity, size, picks, label="")
    return np.concatenate(images, axis=1), [round(float(i / fps), 2) for i in picks]


def _output_frames(joints, fps, intensity, size, out_fps, label):
    step = max(1, int(round(fps / out_fps))) if out_fps else 1
    picks = np.arange(0, len(joints), step)
    return render_frames(joints, fps, intensity, size, picks, label), fps / step


def save_gif(images: list[np.ndarray], path: str | os.PathLike, fps: float) -> Path:
    """Frames to an animated GIF that loops (imageio's pillow writer); written atomically."""
    import imageio.v3 as iio

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.gif")
    iio.imwrite(tmp, np.stack(images), extension=".gif", duration=1000.0 / fps, loop=0)
    os.replace(tmp, path)
    return path


def save_mp4(images: list[np.ndarray], path: str | os.PathLike, fps: float) -> Path:
    """Frames to an H.264 MP4 (imageio-ffmpeg, yuv420p: plays in browsers); written atomically."""
    import imageio.v2 as imageio

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.mp4")
    writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=16,
                                ffmpeg_log_level="error", pixelformat="yuv420p")
    try:
        for image in images:
            writer.append_data(image)
    finally:
        writer.close()
    os.replace(tmp, path)
    return path


def motion_gif(joints: np.ndarray, path: str | os.PathLike, fps: float = 20.0, intensity: np.ndarray | None = None,
               size: tuple[int, int] = DEFAULT_SIZE, out_fps: float = 10.0, label: str | None = None) -> Path:
    """A motion as a looping GIF at out_fps (frames strided from the motion's fps)."""
    images, rate = _output_frames(joints, fps, intensity, size, out_fps, label)
    return save_gif(images, path, rate)


def motion_mp4(joints: np.ndarray, path: str | os.PathLike, fps: float = 20.0, intensity: np.ndarray | None = None,
               size: tuple[int, int] = DEFAULT_SIZE, out_fps: float = 20.0, label: str | None = None) -> Path:
    """A motion as an MP4 video at out_fps."""
    images, rate = _output_frames(joints, fps, intensity, size, out_fps, label)
    return save_mp4(images, path, rate)


def smpl_status(folder: str | os.PathLike | None = None) -> dict:
    """Whether SMPL bodies could be drawn: {"available": bool, "message": str}. They need the smplx package
    and the licensed SMPL model as SMPL_NEUTRAL.npz (engine/smpl_body.py; never shipped or downloaded) in
    `folder` or $MOTIONLEX_SMPL_DIR. Skeletons need neither."""
    from .errors import InputError
    from .smpl_body import smpl_file

    try:
        path = smpl_file(folder)
    except InputError as err:
        return {"available": False, "message": f"skeletons: {err}"}
    try:
        import smplx  # noqa: F401 - only whether it is installed
    except ImportError:
        return {"available": False, "message": "skeletons: SMPL files found, but the smplx package is not "
                                               "installed (pip install smplx)"}
    return {"available": True, "message": f"SMPL model file {path}"}
