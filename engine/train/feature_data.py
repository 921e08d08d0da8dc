"""Training data of the generator: dataset clips as normalised HumanML3D features with their captions.

Each clip's canonical joints go through features263.joints_to_features once per clip (HumanML3D's heading
smoothing needs the whole clip), then a window of at most `train_frames` rows is cropped: at random in
training, like the lexical phases' motion windows. The Normalizer is the mean/std over every frame of the
training clips (streamed, so no clip is kept for it), stored with the generator's checkpoint; SoPo and
serving reuse the base generator's. Batches are a pure function of (seed, phase, step) through
batching.ItemStream, so a resumed run sees the batches of an uninterrupted one.
(HumanML3D users could read new_joint_vecs directly instead of recomputing them; the features are equal
up to the retargeting HumanML3D applies and we do not, see features263.py.)
"""
from __future__ import annotations

import numpy as np
import torch

from ..motion_io.features263 import FEATURE_DIM, STD_FLOOR, Normalizer, joints_to_features
from .batching import ItemStream


def fit_normalizer(feature_arrays) -> Normalizer:
    """Normalizer.fit's statistics (population std over all frames, floored at STD_FLOOR), streamed."""
    total, s, ss = 0, np.zeros(FEATURE_DIM), np.zeros(FEATURE_DIM)
    for f in feature_arrays:
        f = np.asarray(f, dtype=np.float64)
        total += len(f)
        s += f.sum(0)
        ss += np.square(f).sum(0)
    if total == 0:
        raise ValueError("no frames to fit the normaliser on")
    mean = s / total
    var = np.maximum(ss / total - np.square(mean), 0.0)
    return Normalizer(mean, np.maximum(np.sqrt(var), STD_FLOOR))


class FeatureClips:
    """Captioned clips of one split as normalised feature windows; kind of batching.Batcher for features."""

    def __init__(self, dataset, clips, train_frames: int, min_frames: int = 8, normalizer: Normalizer | None = None,
                 cache_frames: int = 4_000_000):
        self.dataset, self.train_frames = dataset, int(train_frames)
        self.clips = [c for c in clips if c.captions and c.frames >= max(min_frames, 3)]
        if not self.clips:
            raise ValueError("no captioned clips long enough to train the generator on")
        self._cache: dict[str, np.ndarray] = {}
        self._cached, self._budget = 0, cache_frames
        self.normalizer = normalizer or fit_normalizer(self.features(i) for i in range(len(self.clips)))

    def __len__(self) -> int:
        return len(self.clips)

    def features(self, index: int) -> np.ndarray:
        """(T - 1, 263) raw features of clip `index` (kept in memory while the frame budget lasts)."""
        clip = self.clips[index]
        if clip.id in self._cache:
            return self._cache[clip.id]
        f = joints_to_features(self.dataset.motion(clip.id).joints)
        if self._cached + len(f) <= self._budget:
            self._cache[clip.id] = f
            self._cached += len(f)
        return f

    def window(self, index: int, u: float | None) -> np.ndarray:
        """Normalised crop of at most train_frames rows; u in [0, 1) places it, None centres it."""
        f = self.features(index)
        extra = len(f) - self.train_frames
        if extra > 0:
            start = extra // 2 if u is None else min(int(u * (extra + 1)), extra)
            f = f[start:start + self.train_frames]
        return self.normalizer.normalize(f)

    def build(self, draws, train: bool = True) -> dict:
        """draws [(item, caption int, crop uniform)] -> x0 (B, T, 263), frame_mask (B, T), lengths, texts."""
        windows = [self.window(i, u if train else None) for i, _, u in draws]
        lengths = [len(w) for w in windows]
        x0 = np.zeros((len(windows), max(lengths), FEATURE_DIM), dtype=np.float32)
        for k, w in enumerate(windows):
            x0[k, :len(w)] = w
        texts = [self.clips[i].captions[r % len(self.clips[i].captions)] if train else self.clips[i].captions[0]
                 for i, r, _ in draws]
        lengths_t = torch.tensor(lengths, dtype=torch.long)
        return {"x0": torch.from_numpy(x0), "lengths": lengths_t,
                "frame_mask": torch.arange(x0.shape[1])[None] < lengths_t[:, None],
                "texts": texts, "items": [i for i, _, _ in draws], "clip_ids": [self.clips[i].id for i, _, _ in draws]}


class FeatureBatcher:
    """Global batch `step` of a phase: ItemStream(seed, phase) over the clips, built by FeatureClips."""

    def __init__(self, data: FeatureClips, batch_size: int, seed: int, phase: str):
        self.data = data
        self.stream = ItemStream(len(data), seed, phase, batch_size)

    @property
    def num_items(self) -> int:
        return len(self.data)

    def batch(self, step: int) -> dict:
        return self.data.build(self.stream.batch(step), train=True)
