"""`synthetic[?n=2000&seed=0]`: the procedural library (engine/data/procedural) as a Dataset.

The generator is deterministic in (index, seed), so the library is produced once, kept on disk
(data/procedural_cache.py) and in memory; the clip list, splits and fingerprint depend only on n, seed
and the code version. The fingerprint holds the generator's own source hash too: a change to a primitive
that keeps every clip's captions, labels and length (a jog's pace) still changes the motions, so indexes
encoded from the old ones must not be served for the new.
"""
from __future__ import annotations

from ..motion import Motion
from .clip import Clip
from .dataset import Dataset
from .splits import assign_splits


class SyntheticDataset(Dataset):
    name = "synthetic"

    def __init__(self, spec: str, n: int = 2000, seed: int = 0):
        super().__init__(spec)
        from .procedural_cache import cached_library   # the generator is imported only when generating

        self.n, self.seed = n, seed
        library = cached_library(n, seed)
        self._library = {item.id: item for item in library}
        group = {item.id: _group(item.label) for item in library}
        splits = assign_splits(group, group_of=group.get)
        self.clips = [
            Clip(id=item.id, captions=list(item.captions), label=item.label, split=splits[item.id],
                 source=f"procedural:{item.id}?seed={seed}", frames=item.motion.frames,
                 duration_s=item.motion.duration_s)
            for item in library
        ]

    def _load(self, clip: Clip) -> Motion:
        item = self._library[clip.id]
        return Motion(item.motion.joints, item.motion.fps, item.id, dict(item.motion.meta))

    def source_fingerprint(self) -> str:
        from .procedural_cache import procedural_code_version

        return f"procedural n={self.n} seed={self.seed} code={procedural_code_version()}"


def _group(label: dict | None) -> str:
    """Stratify by the clip's first primitive (e.g. "wave_left"): every action in every split."""
    primitives = (label or {}).get("primitives") or [""]
    return str(primitives[0])
