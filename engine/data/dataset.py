"""The Dataset base class: a list of clips, lazy motions, splits, a fingerprint and caption search.

Subclasses (one per format) fill `self.clips` in their constructor and implement `_load(clip)`,
which returns the whole canonical Motion of the clip's source; cropping of sub-clips, caching
and validation are done once, here.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict

from ..errors import SpecError
from ..motion import Motion, canonicalize
from .cache import CODE_VERSION
from .clip import SPLITS, Clip

WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words_of(text: str) -> list[str]:
    """Lower-case word tokens; hyphenated words stay whole ("walk-turn")."""
    return WORD.findall(text.lower())


class Dataset:
    name = "dataset"
    cache_size = 64   # motions kept in memory; a training epoch streams, the app revisits a few

    def __init__(self, spec: str, clips: list[Clip] | None = None):
        self.spec = spec
        self.clips: list[Clip] = clips or []
        self._by_id: dict[str, Clip] | None = None
        self._fingerprint: tuple[int, str] | None = None   # (clip count it was computed for, fingerprint)
        self._motions: OrderedDict[str, Motion] = OrderedDict()

    # -- what a subclass provides -------------------------------------------------------
    def _load(self, clip: Clip) -> Motion:
        raise NotImplementedError

    def source_fingerprint(self) -> str:
        """Identity of the underlying files or generator (not of the clip list)."""
        return self.spec

    # -- shared behaviour ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r}, {len(self.clips)} clips)"

    def clip(self, clip_id: str) -> Clip:
        if self._by_id is None or len(self._by_id) != len(self.clips):
            self._by_id = {c.id: c for c in self.clips}
        try:
            return self._by_id[clip_id]
        except KeyError:
            raise SpecError(f"dataset {self.spec!r} has no clip {clip_id!r}") from None

    def motion(self, clip_id: str) -> Motion:
        """The clip's canonical Motion, loaded on first use and kept in a small LRU cache."""
        if clip_id in self._motions:
            self._motions.move_to_end(clip_id)
            return self._motions[clip_id]
        clip = self.clip(clip_id)
        motion = crop(self._load(clip), clip)
        motion.name = clip.id
        motion.meta.setdefault("label", clip.label)
        self._motions[clip_id] = motion
        while len(self._motions) > self.cache_size:
            self._motions.popitem(last=False)
        return motion

    def split(self, name: str) -> list[Clip]:
        if name not in SPLITS:
            raise SpecError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [c for c in self.clips if c.split == name]

    def subset(self, split: str) -> "Dataset":
        """The clips of one split as a dataset of their own (e.g. the training motions a caption is
        guided by in an evaluation); motions are read through this dataset."""
        return SplitView(self, split)

    def fingerprint(self) -> str:
        """Stable hash of the clip list and the source: checkpoints and indexes record it. Kept once computed
        (every served request asks for it; hashing 2,000 clips' JSON took ~80 ms) until the clip list grows,
        as a constructor appending clips does."""
        if self._fingerprint is not None and self._fingerprint[0] == len(self.clips):
            return self._fingerprint[1]
        digest = hashlib.sha256()
        digest.update(json.dumps([CODE_VERSION, self.name, self.source_fingerprint()]).encode())
        for clip in self.clips:
            digest.update(json.dumps(clip.key(), sort_keys=True).encode())
        self._fingerprint = (len(self.clips), digest.hexdigest()[:20])
        return self._fingerprint[1]

    def search_captions(self, words: str | list[str]) -> list[Clip]:
        """Clips whose captions (together) contain every word: case-insensitive, whole words."""
        wanted = set(words_of(words) if isinstance(words, str) else [w.lower() for w in words])
        return [c for c in self.clips if wanted <= {w for cap in c.captions for w in words_of(cap)}]


def crop(motion: Motion, clip: Clip) -> Motion:
    """Cut a sub-clip [start_s, end_s) out of its source motion (HumanML3D caption ranges)."""
    if clip.start_s <= 0 and clip.end_s is None:
        return motion
    first = round(clip.start_s * motion.fps)
    last = motion.frames if clip.end_s is None else round(clip.end_s * motion.fps)
    first, last = min(first, motion.frames - 1), max(min(last, motion.frames), first + 1)
    # Re-canonicalise: a crop must start at the origin facing +Z like any other motion.
    return Motion(canonicalize(motion.joints[first:last]), motion.fps, clip.id,
                  dict(motion.meta, crop_s=[clip.start_s, clip.end_s]))


class SplitView(Dataset):
    """One split of a dataset; its spec names the split so that indexes built on it are its own."""
    name = "split"

    def __init__(self, parent: Dataset, split: str):
        super().__init__(f"{parent.spec}#{split}", parent.split(split))
        self.parent = parent

    def motion(self, clip_id: str) -> Motion:
        self.clip(clip_id)   # only this split's clips
        return self.parent.motion(clip_id)

    def source_fingerprint(self) -> str:
        return self.parent.fingerprint()
