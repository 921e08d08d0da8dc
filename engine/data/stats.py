"""Summary statistics of a dataset: sizes, durations, splits, caption vocabulary and sides."""
from __future__ import annotations

from collections import Counter

from .clip import SPLITS
from .dataset import Dataset, words_of

# Function words that would otherwise fill the top terms of any caption set.
STOPWORDS = frozenset("""
a an the and or but if then than so as of at by for from in into on onto off out over under up
down to with without while when where who whom which that this these those it its itself is are
was were be been being am do does did doing have has had having he she they them their theirs his
her hers him i me my we our you your not no nor only own same too very can will just should now
there here all any each few more most other some such again further once both left right
""".split()) - {"left", "right", "both", "up", "down", "over", "under", "out", "off"}
SIDES = ("left", "right", "both")


def _summary(values: list[float], digits: int = 3) -> dict:
    if not values:
        return {"mean": 0.0, "min": 0.0, "max": 0.0}
    return {"mean": round(sum(values) / len(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def dataset_stats(dataset: Dataset, top: int = 25) -> dict:
    captions = [caption for clip in dataset.clips for caption in clip.captions]
    durations = [clip.duration_s for clip in dataset.clips]
    tokenised = [words_of(caption) for caption in captions]
    counts = Counter(word for words in tokenised for word in words)
    sides = Counter()
    for words in tokenised:
        parts = {part for word in words for part in word.split("-")}   # "left-hand" mentions left
        sides.update(side for side in SIDES if side in parts)
    return {
        "spec": dataset.spec,
        "clips": len(dataset.clips),
        "captions": len(captions),
        "duration_s": dict(total=round(sum(durations), 2), **_summary(durations)),
        "splits": {name: sum(clip.split == name for clip in dataset.clips) for name in SPLITS},
        "vocabulary": len(counts),
        "top_terms": [[w, n] for w, n in counts.most_common() if w not in STOPWORDS][:top],
        "sides": {side: sides[side] for side in SIDES},
        "caption_length": _summary([len(words) for words in tokenised], digits=2),
    }
