"""numpy's BLAS (OpenBLAS) on one thread in a serving process.

What a request asks of numpy's BLAS is small (a PCA of one motion's features, a few hundred dot products), and
OpenBLAS's worker threads spin while they wait: on a 2-core machine with a training run beside the app, the
PCA of the Caption & Explain view took 0.9-1.1 s with OpenBLAS's default two threads and ~11 ms with one
(bench/RESULTS.md, "Caption & Explain"). torch's own threads are not affected.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits

_LIMIT = None


def blas_on_one_thread() -> None:
    """Limit every BLAS library numpy loaded to one thread for the rest of the process (idempotent)."""
    global _LIMIT
    if _LIMIT is None:
        _LIMIT = threadpool_limits(limits=1, user_api="blas")
