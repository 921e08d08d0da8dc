"""Batches for the phases: motion windows, (motion, caption) pairs and text-only batches.

Every batch is a pure function of (seed, phase, step): the stream of items is a concatenation of
per-epoch permutations, global batch k takes positions [k*B, (k+1)*B) of that stream, and the
per-epoch random draws (which caption, where to crop) come from a generator seeded by
(seed, phase, epoch). So a resumed run sees exactly the batches an uninterrupted run would,
and under DDP each rank builds only its contiguous shard of the same global batch.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..data.mirror import mirror_caption, mirror_draw
from ..skeleton import mirror_joints
from .distributed import DistInfo, shard

REPO_ROOT = Path(__file__).resolve().parents[2]


def stable_seed(*parts) -> int:
    """A 63-bit seed from any printable parts (stable across processes, unlike hash())."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class ItemStream:
    """Deterministic, epoch-based order over n items; the per-epoch draws are shared by all ranks."""

    def __init__(self, n: int, seed: int, phase: str, batch_size: int):
        if n <= 0:
            raise ValueError("cannot batch an empty dataset")
        self.n, self.seed, self.phase, self.batch_size = n, seed, phase, batch_size

    @lru_cache(maxsize=4)
    def epoch_draws(self, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(stable_seed(self.seed, self.phase, epoch))
        return rng.permutation(self.n), rng.integers(0, 2**31 - 1, self.n), rng.random(self.n)

    def batch(self, step: int) -> list[tuple[int, int, float]]:
        """Global batch `step`: (item index, random int for the caption, uniform for the crop)."""
        out = []
        for pos in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, offset = divmod(pos, self.n)
            perm, ints, unif = self.epoch_draws(epoch)
            item = int(perm[offset])
            out.append((item, int(ints[item]), float(unif[item])))
        return out

    def resized(self, batch_size: int) -> "ItemStream":
        """The same order in batches of another size (hard negatives fill the rest of each batch)."""
        return ItemStream(self.n, self.seed, self.phase, batch_size)


# --------------------------------------------------------------------------------------------
# Motions
class MotionWindows:
    """Clips of one split as fixed-length windows: random crop in training, centre crop at eval."""

    def __init__(self, dataset, clips, max_frames: int, cache_frames: int = 4_000_000):
        self.dataset, self.clips, self.max_frames = dataset, list(clips), max_frames
        self._cache: dict[str, np.ndarray] = {}
        self._cached_frames, self._cache_frames = 0, cache_frames

    def joints(self, index: int) -> np.ndarray:
        clip = self.clips[index]
        if clip.id in self._cache:
            return self._cache[clip.id]
        joints = self.dataset.motion(clip.id).joints
        if self._cached_frames + len(joints) <= self._cache_frames:   # keep small datasets in memory
            self._cache[clip.id] = joints
            self._cached_frames += len(joints)
        return joints

    def window(self, index: int, u: float | None) -> np.ndarray:
        """A crop of at most max_frames; u in [0, 1) places a random crop, None centres it."""
        joints = self.joints(index)
        extra = len(joints) - self.max_frames
        if extra <= 0:
            return joints
        start = extra // 2 if u is None else min(int(u * (extra + 1)), extra)
        return joints[start:start + self.max_frames]


def stack_motions(windows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest window: joints (B, T, 22, 3) float32 and frame_mask (B, T) bool."""
    length = max(len(w) for w in windows)
    joints = np.zeros((len(windows), length) + windows[0].shape[1:], dtype=np.float32)
    mask = np.zeros((len(windows), length), dtype=bool)
    for i, w in enumerate(windows):
        joints[i, :len(w)] = w
        mask[i, :len(w)] = True
    return torch.from_numpy(joints), torch.from_numpy(mask)


# --------------------------------------------------------------------------------------------
# Text corpus for LexMLM
def extra_text_lines(data_cfg: DataConfig) -> list[str]:
    """Sentences from the configured text files that exist (kitml lines, CMU `trial<TAB>text`)."""
    lines: list[str] = []
    if not data_cfg.extra_text:
        return lines
    for name in data_cfg.text_files:
        path = Path(name) if Path(name).is_absolute() else REPO_ROOT / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            text = line.split("\t", 1)[1] if path.suffix == ".tsv" and "\t" in line else line
            text = text.strip()
            if text:
                lines.append(text)
    return lines


def text_corpus(clips, data_cfg: DataConfig) -> list[str]:
    """Distinct captions of the clips plus the extra text, in a stable order."""
    seen: dict[str, None] = {}
    for clip in clips:
        for caption in clip.captions:
            seen.setdefault(caption.strip(), None)
    for line in extra_text_lines(data_cfg):
        seen.setdefault(line, None)
    return [t for t in seen if t]


# --------------------------------------------------------------------------------------------
class Batcher:
    """Builds the batches one phase asks for: kind = "text" | "motion" | "pair"."""

    def __init__(self, kind: str, dataset, clips, data_cfg: DataConfig, batch_size: int,
                 seed: int, phase: str, tokenize, dist: DistInfo = DistInfo(), texts: list[str] | None = None):
        if kind not in ("text", "motion", "pair"):
            raise ValueError(f"unknown batch kind {kind!r}")
        self.kind, self.tokenize, self.dist = kind, tokenize, dist
        self.clips = [c for c in clips if c.frames >= data_cfg.min_frames] or list(clips)
        if kind == "pair":
            self.clips = [c for c in self.clips if c.captions]
        self.texts = texts if texts is not None else text_corpus(self.clips, data_cfg)
        self.windows = MotionWindows(dataset, self.clips, data_cfg.max_frames)
        self.mirror = data_cfg.mirror    # training items mirrored with this probability (data/mirror.py)
        self.stream = ItemStream(self.num_items, seed, phase, batch_size)

    @property
    def num_items(self) -> int:
        return len(self.texts) if self.kind == "text" else len(self.clips)

    def batch(self, step: int) -> dict:
        """This rank's shard of global batch `step`."""
        return self.build(shard(self.stream.batch(step), self.dist), train=True)

    def eval_batches(self, limit: int, batch_size: int):
        """Fixed validation batches: centre crops, first caption, no shuffling."""
        n = min(limit, self.num_items)
        for start in range(0, n, batch_size):
            yield self.build([(i, 0, 0.0) for i in range(start, min(n, start + batch_size))], train=False)

    def build(self, draws, train: bool) -> dict:
        batch: dict = {"kind": self.kind}
        if self.kind == "text":
            texts = [self.texts[i] for i, _, _ in draws]
            return self.add_text(batch, texts)
        mirrored = [train and mirror_draw(r, self.mirror) for _, r, _ in draws]
        windows = [self.windows.window(i, u if train else None) for i, _, u in draws]
        windows = [mirror_joints(w) if m else w for w, m in zip(windows, mirrored)]
        batch["joints"], batch["frame_mask"] = stack_motions(windows)
        batch["clip_ids"] = [self.clips[i].id for i, _, _ in draws]
        if self.kind == "pair":
            references = [self.clips[i].captions for i, _, _ in draws]
            references = [[mirror_caption(t) for t in refs] if m else refs for refs, m in zip(references, mirrored)]
            batch["references"] = references   # every caption (of the mirrored motion if mirrored), for rewards
            captions = [refs[r % len(refs)] if train else refs[0] for refs, (_, r, _) in zip(references, draws)]
            self.add_text(batch, captions)
        return batch

    def add_text(self, batch: dict, texts: list[str]) -> dict:
        ids, mask = self.tokenize(texts)
        batch.update(texts=texts, text_ids=ids.cpu(), text_mask=mask.cpu())
        return batch


def to_device(batch: dict, device) -> dict:
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            out[key] = value.to(device, non_blocking=True)
        elif isinstance(value, dict):
            out[key] = to_device(value, device)
        else:
            out[key] = value
    return out
