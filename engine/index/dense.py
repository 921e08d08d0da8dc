"""DenseIndex: the brute-force baseline, float32 (N, d) matrix times the query vector.

Same search / memory_bytes / save / load API as SparseIndex so the benchmark (and any caller)
can swap them; hits carry no term explanation (dense dimensions are not words).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.index.hit import Hit
from engine.index.store import load_arrays, save_arrays

KIND = "motionlex.dense_index"


class DenseIndex:
    def __init__(self, ids: np.ndarray, vectors: np.ndarray):
        self.ids, self.vectors = ids, vectors

    @classmethod
    def build(cls, vectors: np.ndarray, ids: list[str]) -> "DenseIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise ValueError(f"expected (N, d) vectors with N ids, got {vectors.shape} and {len(ids)} ids")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or inf")
        return cls(np.asarray(list(ids), dtype=str), vectors)

    def __len__(self) -> int:
        return len(self.ids)

    def memory_bytes(self) -> int:
        return int(self.ids.nbytes + self.vectors.nbytes)

    def search(self, query: np.ndarray, k: int = 10, **_ignored) -> list[Hit]:
        """Top-k rows by dot product with `query` (d,)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape != (self.vectors.shape[1],):
            raise ValueError(f"query must have {self.vectors.shape[1]} dims, got {q.shape}")
        k = min(k, len(self))
        if k <= 0:
            return []
        scores = self.vectors @ q
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(str(self.ids[i]), int(i), float(scores[i])) for i in top]

    def save(self, directory: str | Path, fingerprint: str) -> Path:
        return save_arrays(directory, KIND, {"ids": self.ids, "vectors": self.vectors}, {}, fingerprint)

    @classmethod
    def load(cls, directory: str | Path, fingerprint: str | None, mmap: bool = False) -> "DenseIndex | None":
        loaded = load_arrays(directory, KIND, fingerprint, mmap)
        if loaded is None:
            return None
        a, _ = loaded
        if set(a) != {"ids", "vectors"} or a["vectors"].dtype != np.float32 or a["vectors"].ndim != 2 \
                or a["ids"].dtype.kind != "U" or len(a["ids"]) != len(a["vectors"]):
            raise InputError(directory, "dense index arrays missing, mistyped or inconsistent")
        return cls(a["ids"], a["vectors"])
