"""engine/render.py: rendered skeleton frames (pyrender on EGL, matplotlib fallback), GIF and MP4 files.

The pictures are checked by their pixels: the body's left side (blue) is on the right of the screen for a
camera in front of it, heat-coloured joints change colour, the camera follows a walk, the files decode."""
import numpy as np
import pytest

from engine import render, render_files
from engine.skeleton import JOINT_INDEX
from tests.test_app_viewer import STAND

BLUE, ORANGE = np.array([0x1f, 0x6f, 0xd1]), np.array([0xe8, 0x71, 0x0a])


def walking(frames: int = 60, metres: float = 3.0) -> np.ndarray:
    joints = np.repeat(STAND[None], frames, axis=0).copy()
    joints[:, :, 2] += np.linspace(0, metres, frames)[:, None]
    return joints


def colour_mask(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Pixels of a side's hue (shading darkens and lightens the colour, so its channel order, not a distance)."""
    hue = image.astype(np.float64)
    if colour is BLUE:
        return (hue[..., 2] > hue[..., 0] + 60) & (hue[..., 2] > hue[..., 1] + 20)
    return (hue[..., 0] > hue[..., 2] + 80) & (hue[..., 0] > hue[..., 1] + 30)


@pytest.fixture(params=["pyrender", "matplotlib"])
def backend(request, monkeypatch):
    if request.param == "matplotlib":
        monkeypatch.setitem(render._state, "backend", "matplotlib")
    elif render.render_backend() != "pyrender":
        pytest.skip("pyrender/EGL is not available here (the matplotlib fallback is tested)")
    return request.param


def test_frames_have_the_asked_size_and_a_white_sky(backend):
    images = render.render_frames(STAND[None], size=(160, 128))
    assert len(images) == 1 and images[0].shape == (128, 160, 3) and images[0].dtype == np.uint8
    assert (images[0][:10] > 240).all()          # sky above the head is white


def test_left_side_is_blue_on_screen_right_seen_from_the_front(backend):
    image = render.render_frames(STAND[None], size=(320, 320))[0]
    blue, orange = colour_mask(image, BLUE), colour_mask(image, ORANGE)
    assert blue.sum() > 50 and orange.sum() > 50, (blue.sum(), orange.sum())
    blue_x, orange_x = np.nonzero(blue)[1].mean(), np.nonzero(orange)[1].mean()
    assert blue_x > orange_x            # the camera is in front: the body's left appears on screen right


def test_camera_follows_the_root(backend):
    joints = walking(40, metres=4.0)
    first, last = render.render_frames(joints, frames=[0, 39], size=(256, 256))
    for image in (first, last):
        body = colour_mask(image, BLUE) | colour_mask(image, ORANGE)
        cols = np.nonzero(body)[1]
        assert body.sum() > 50 and abs(cols.mean() - 128) < 50   # the walker stays near the middle


def test_intensity_paints_the_joints(backend):
    joints = np.repeat(STAND[None], 2, axis=0)
    cold = np.zeros((2, 22))
    heat = cold.copy()
    heat[:, JOINT_INDEX["l_wrist"]] = 1.0
    plain = render.render_frames(joints, intensity=cold, frames=[0], size=(256, 256))[0].astype(np.float64)
    hot = render.render_frames(joints, intensity=heat, frames=[0], size=(256, 256))[0].astype(np.float64)
    changed = np.abs(hot - plain).sum(-1) > 30
    assert changed.sum() > 20                                   # only the hot joint differs: bigger and red
    r, g, b = hot[changed].mean(axis=0)
    assert r > g + 40 and r > b + 60, (r, g, b)
    assert np.nonzero(changed)[1].mean() > 128                  # the left wrist: on screen right
    with pytest.raises(ValueError, match="intensity"):
        render.render_frames(joints, intensity=np.zeros((3, 22)))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="expected joints"):
        render.render_frames(np.zeros((4, 21, 3)))
    with pytest.raises(ValueError, match="NaN"):
        render.render_frames(np.full((2, 22, 3), np.nan))
    with pytest.raises(ValueError, match="frame indices"):
        render.render_frames(STAND[None], frames=[3])


def test_gif_and_mp4_decode(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    joints = walking(60)
    gif = render_files.motion_gif(joints, tmp_path / "walk.gif", out_fps=10, size=(160, 160), label="walk")
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == 30 and frames.shape[1:3] == (160, 160)
    assert not np.array_equal(frames[0], frames[-1])       # it moves
    mp4 = render_files.motion_mp4(joints, tmp_path / "walk.mp4", size=(160, 160))
    video = iio.imread(mp4, index=None, plugin="pyav") if _has_pyav() else _ffmpeg_frames(mp4)
    assert len(video) == 60 and video[0].shape[:2] == (160, 160)
    assert not list(tmp_path.glob("*.tmp*"))                # written atomically


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _ffmpeg_frames(path):
    import imageio.v2 as imageio
    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        return [frame for frame in reader]
    finally:
        reader.close()


def test_key_frame_strip_spans_the_clip():
    strip, times = render_files.key_frame_strip(walking(61), 20.0, np.random.default_rng(0).random((61, 22)), count=4,
                                          size=(96, 120))
    assert strip.shape == (120, 4 * 96, 3) and times == [0.0, 1.0, 2.0, 3.0]


def test_smpl_meshes_are_optional_and_explained(tmp_path, monkeypatch):
    monkeypatch.delenv(render.SMPL_ENV, raising=False)
    status = render_files.smpl_status()
    assert not status["available"] and "licensed SMPL" in status["message"]
    assert "no SMPL model file" in render_files.smpl_status(tmp_path)["message"]
    from tests.smpl_toy import write_toy_smpl

    write_toy_smpl(tmp_path)
    assert render_files.smpl_status(tmp_path)["available"]
