"""Several datasets as one (joint-dataset training): clip ids are prefixed by the dataset's name."""
from __future__ import annotations

from dataclasses import replace

from ..motion import Motion
from .dataset import Dataset


class ConcatDataset(Dataset):
    name = "concat"

    def __init__(self, spec: str, datasets: list[Dataset]):
        super().__init__(spec)
        self.datasets = datasets
        self.prefixes: list[str] = []
        self._route: dict[str, tuple[Dataset, str]] = {}
        for dataset in datasets:
            prefix = dataset.name
            while prefix in self.prefixes:   # two folders of one format: bvh, bvh2, ...
                prefix = f"{dataset.name}{len(self.prefixes) + 1}"
            self.prefixes.append(prefix)
            for clip in dataset.clips:
                new_id = f"{prefix}/{clip.id}"
                self._route[new_id] = (dataset, clip.id)
                self.clips.append(replace(clip, id=new_id, meta=dict(clip.meta, dataset=prefix)))

    def motion(self, clip_id: str) -> Motion:
        self.clip(clip_id)   # a clear SpecError for an unknown id
        dataset, inner_id = self._route[clip_id]
        motion = dataset.motion(inner_id)   # the member's own LRU cache holds it
        return Motion(motion.joints, motion.fps, clip_id, motion.meta)

    def source_fingerprint(self) -> str:
        return "+".join(f"{p}={d.fingerprint()}" for p, d in zip(self.prefixes, self.datasets))
