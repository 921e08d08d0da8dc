"""The model-free caption baseline's neighbour search in pose space."""
import numpy as np

from engine.evaluation.pose_neighbour import POSE_FRAMES, nearest_by_pose, pose_signature


def test_signature_keeps_the_root_path_and_the_pose_relative_to_it():
    joints = np.zeros((5, 22, 3), np.float32)
    joints[:, 0, 2] = np.arange(5)               # the root walks along +Z
    joints[:, 1] = joints[:, 0] + [0.1, 0.0, 0.0]
    sig = pose_signature(joints, frames=3).reshape(3, 22, 3)
    np.testing.assert_allclose(sig[:, 0, 2], [0, 2, 4])
    np.testing.assert_allclose(sig[:, 1], [[0.1, 0, 0]] * 3)
    assert pose_signature(joints).shape == (POSE_FRAMES * 22 * 3,)


def test_signature_resamples_clips_of_any_length_to_the_same_instants():
    t = np.linspace(0, 1, 40, dtype=np.float32)
    long = np.zeros((40, 22, 3), np.float32)
    long[:, 0, 0] = t
    short = long[::3]                              # the same path, a third of the frames
    np.testing.assert_allclose(pose_signature(long), pose_signature(short), atol=0.02)


def test_nearest_by_pose_finds_the_closest_motion_not_the_first():
    rng = np.random.default_rng(0)
    library = [rng.standard_normal((30 + 5 * i, 22, 3)).astype(np.float32) for i in range(6)]
    queries = [library[4] + 0.01 * rng.standard_normal(library[4].shape).astype(np.float32), library[1]]
    assert nearest_by_pose(queries, library).tolist() == [4, 1]
