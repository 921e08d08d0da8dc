"""SMPL bodies (engine/smpl_body.py, engine/render_mesh.py, `engine render --body smpl`) on a body model in
SMPL's file format made by the test (tests/smpl_toy.py; the licensed SMPL files are never in the repository)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.smpl_body import fit_smpl, load_smpl, posed_joints, smpl_file
from tests.smpl_toy import write_toy_smpl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smpl")
    return folder, load_smpl(write_toy_smpl(folder))


def known_motion(body, frames=30):
    """Joints the body can make exactly: a walk-like drift, a turn and a few joints swinging."""
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, frames)[:, None]
    pose = 0.4 * torch.sin(6 * t + torch.rand(1, 69, generator=g) * 6) * (torch.rand(1, 69, generator=g) > 0.6)
    orient = torch.zeros(frames, 3)
    orient[:, 1] = 1.2 * t[:, 0]
    transl = torch.cat([2 * t, torch.zeros(frames, 2)], 1)
    with torch.no_grad():
        return posed_joints(body, torch.tensor([[1.0] + [0.0] * 9]), orient, pose, transl)[:, :22].numpy()


def test_the_fit_recovers_a_motion_the_body_can_make(toy):
    _, body = toy
    fit = fit_smpl(body, known_motion(body))
    assert fit.joint_error_m < 0.005 and abs(float(fit.betas[0, 0]) - 1.0) < 0.1


def test_the_fit_follows_a_library_motion(toy):
    from engine.data import open_dataset

    _, body = toy
    data = open_dataset("synthetic?n=20&seed=0")
    joints = data.motion(data.clips[0].id).joints
    fit = fit_smpl(body, joints, iterations=150)
    assert fit.joint_error_m < 0.03     # the toy body's proportions are not the library's skeleton's


def test_missing_pickled_or_damaged_model_files_are_named(tmp_path, monkeypatch):
    monkeypatch.delenv("MOTIONLEX_SMPL_DIR", raising=False)
    with pytest.raises(InputError, match="MOTIONLEX_SMPL_DIR"):
        smpl_file(None)
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"not read")
    with pytest.raises(InputError, match="SMPL_NEUTRAL.npz: no SMPL model file; SMPL_NEUTRAL.pkl is there: convert"):
        smpl_file(tmp_path)
    (tmp_path / "SMPL_NEUTRAL.npz").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(InputError, match="SMPL_NEUTRAL.npz: not a readable .npz"):
        load_smpl(smpl_file(tmp_path))
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", v_template=np.zeros((3, 3)))
    with pytest.raises(InputError, match="no 'f', 'J_regressor'"):
        load_smpl(tmp_path / "SMPL_NEUTRAL.npz")


def test_the_cli_renders_the_fitted_body_in_side_colours(toy, tmp_path):
    from engine.render import render_backend

    if render_backend() != "pyrender":
        pytest.skip("pyrender with EGL is not available: meshes are drawn by pyrender only")
    folder, body = toy
    np.save(tmp_path / "move.npy", known_motion(body, 12).astype(np.float32))
    out = subprocess.run([sys.executable, "-m", "engine", "render", str(tmp_path / "move.npy"), "--out",
                          str(tmp_path / "move.gif"), "--body", "smpl", "--smpl-dir", str(folder), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["frames"] == 12 and result["joint_error_m"] < 0.005 and result["body"] == "smpl"
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "move.gif")
    first = frames[0].reshape(-1, frames.shape[-1])[:, :3].astype(int)
    blue = ((first[:, 2] > first[:, 0] + 60)).sum()
    orange = ((first[:, 0] > first[:, 2] + 60) & (first[:, 1] > 60)).sum()
    assert blue > 50 and orange > 50                               # both sides of the body are drawn
    missing = subprocess.run([sys.executable, "-m", "engine", "render", str(tmp_path / "move.npy"), "--out",
                              str(tmp_path / "x.gif"), "--body", "smpl", "--smpl-dir", str(tmp_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "SMPL_NEUTRAL.npz: no SMPL model file" in missing.stderr
    assert "Traceback" not in missing.stderr
