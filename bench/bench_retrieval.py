"""Retrieval latency and memory: SparseIndex (inverted, 8-bit weights) vs DenseIndex (float32 brute force, d=384).

For each N: keyword queries (1-3 terms, weight 1, no text encoder) and text queries (precomputed sparse
query vectors) on the sparse index, and dense matrix-vector queries, one thread, p50/p95 per query.

Vectors: `--checkpoint LEX --dense-checkpoint DENSE --data SPEC` encodes a split's motions and captions
with a trained lexical model and with the dense baseline trained on the same data (the same encoders);
their rows are replicated with weight noise up to N, the dense side of every N is then the dense model's
own vectors at its own width, and a storage vs R@10 table over document top-k is measured on the split
itself beside the dense model's R@10 and float32 bytes. `--vectors FILE.npz` replicates stored sparse
vectors instead. Otherwise synthetic *Zipf* vectors: each document draws 32-64 term ids from a Zipf(s)
law over a shuffled vocabulary of 30,522 (duplicates merged), weights log(1 + Exp(2)) like SPLADE's
log(1 + relu). Keyword and text queries draw their terms from the same law (popular words are asked
more often). Writes JSON to stdout and the bench_retrieval section of bench/RESULTS.md.

    .venv/bin/python bench/bench_retrieval.py --sizes 10000 100000 1000000
    .venv/bin/python bench/bench_retrieval.py --checkpoint runs/bandai/lexical \
        --dense-checkpoint runs/bandai/dense --data bandai:ARCHIVE --split test
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread: set before numpy loads its BLAS

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402
from engine.index import DenseIndex, SparseIndex  # noqa: E402
from engine.metrics import retrieval_all  # noqa: E402

VOCAB = 30522
DENSE_DIM = 256   # the dense baseline's width (model.dense_dim of the tiny preset)
NOTES = Path(__file__).resolve().parent / "retrieval_notes.md"   # the written reading of the real-vector run


# ----------------------------------------------------------------------------- real vectors
def encode_split(checkpoint: Path, dense_checkpoint: Path, spec: str, split: str) -> dict:
    """Lexical and dense vectors of one split's motions (documents) and first captions (queries)."""
    import torch
    from engine.data import open_dataset
    from engine.models.encode import encode_motions, encode_texts
    from engine.checkpoint import load_checkpoint
    torch.set_num_threads(1)
    dataset = open_dataset(spec)
    clips = dataset.split(split)
    motions = [dataset.motion(c.id).joints for c in clips]
    captions = [c.captions[0] for c in clips]
    lexical, _, _ = load_checkpoint(checkpoint)
    dense, _, _ = load_checkpoint(dense_checkpoint)
    return {"docs": encode_motions(lexical, motions).astype(np.float32),
            "queries": encode_texts(lexical, captions).astype(np.float32),
            "dense_docs": encode_motions(dense, motions, kind="dense").astype(np.float32),
            "dense_queries": encode_texts(dense, captions, kind="dense").astype(np.float32),
            "what": f"{checkpoint.name} vs {dense_checkpoint.name} on {len(clips)} {split} items of {spec.split(':')[0]}"}


def replicate_dense(real: np.ndarray, n: int, seed: int = 0, noise: float = 0.1) -> np.ndarray:
    """Rows of `real` repeated up to n with Gaussian noise, re-normalised (the dense model's vectors are unit)."""
    rng = np.random.default_rng(seed)
    rows = real[rng.integers(0, real.shape[0], size=n)]
    rows = rows + rng.standard_normal(rows.shape, dtype=np.float32) * (noise / np.sqrt(rows.shape[1]))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def keyword_queries_from(queries: sp.csr_matrix, rng, count: int) -> list[dict[int, float]]:
    """1-3 of the 5 heaviest terms of real caption vectors: the words a person would type."""
    out = []
    for i in rng.integers(0, queries.shape[0], size=count):
        row = queries.getrow(int(i))
        top = row.indices[np.argsort(-row.data)[:5]]
        out.append({int(t): 1.0 for t in rng.choice(top, size=min(len(top), int(rng.integers(1, 4))), replace=False)})
    return out


# ----------------------------------------------------------------------------- vectors
def zipf_terms(rng, size: int, s: float, vocab_perm: np.ndarray) -> np.ndarray:
    """Term ids drawn from P(rank r) ~ 1 / r^s, ranks mapped to ids by a fixed vocabulary shuffle."""
    cdf = np.cumsum(1.0 / np.arange(1, VOCAB + 1) ** s)
    ranks = np.searchsorted(cdf, rng.random(size) * cdf[-1])
    return vocab_perm[np.minimum(ranks, VOCAB - 1)]


def zipf_vectors(n: int, seed: int = 0, s: float = 1.0, terms=(32, 64)) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    perm = np.random.default_rng(12345).permutation(VOCAB)  # same word popularity for docs and queries
    counts = rng.integers(terms[0], terms[1] + 1, size=n)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = np.log1p(rng.exponential(2.0, size=indptr[-1])).astype(np.float32)
    m = sp.csr_matrix((data, zipf_terms(rng, indptr[-1], s, perm).astype(np.int32), indptr), shape=(n, VOCAB))
    m.sum_duplicates()
    return m


def replicate(real: sp.csr_matrix, n: int, seed: int = 0, noise: float = 0.1) -> sp.csr_matrix:
    """Rows of `real` repeated up to n, each weight scaled by a uniform factor in [1 - noise, 1 + noise]."""
    rng = np.random.default_rng(seed)
    rows = real[rng.integers(0, real.shape[0], size=n)]
    rows.data = (rows.data * rng.uniform(1 - noise, 1 + noise, size=rows.data.shape)).astype(np.float32)
    return sp.csr_matrix(rows, dtype=np.float32)


def keyword_queries(rng, count: int, s: float) -> list[dict[int, float]]:
    perm = np.random.default_rng(12345).permutation(VOCAB)
    return [{int(t): 1.0 for t in zipf_terms(rng, int(rng.integers(1, 4)), s, perm)} for _ in range(count)]


# ----------------------------------------------------------------------------- timing
def latency_ms(fn, queries, warmup: int = 3) -> dict[str, float]:
    for q in queries[:warmup]:
        fn(q)
    times = []
    for q in queries:
        t0 = time.perf_counter_ns()
        fn(q)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return {"p50_ms": round(float(np.percentile(times, 50)), 4), "p95_ms": round(float(np.percentile(times, 95)), 4)}


def accumulation_strategies(index: SparseIndex, queries: list, repeats: int = 1) -> dict[str, float]:
    """Median ms of three ways to add q_w * postings into a score array (the index uses np.add.at)."""
    n = len(index)

    def fancy_add(terms, weights):
        scores = np.zeros(n, np.float32)
        for t, w in zip(terms, weights):
            docs, dw = index.postings(int(t))
            scores[docs] += np.multiply(dw, w, dtype=np.float32)
        return scores

    def add_at(terms, weights):
        scores = np.zeros(n, np.float32)
        for t, w in zip(terms, weights):
            docs, dw = index.postings(int(t))
            np.add.at(scores, docs, np.multiply(dw, w, dtype=np.float32))
        return scores

    def bincount(terms, weights):
        parts = [index.postings(int(t)) for t in terms]
        docs = np.concatenate([d for d, _ in parts])
        vals = np.concatenate([np.multiply(dw, w, dtype=np.float32) for (_, dw), w in zip(parts, weights)])
        return np.bincount(docs, weights=vals, minlength=n)

    out = {}
    for name, fn in (("fancy_add", fancy_add), ("np.add.at", add_at), ("bincount", bincount)):
        out[name] = latency_ms(lambda q: fn(*q), queries)["p50_ms"]
    return out


def text_query_tuples(queries: sp.csr_matrix) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(queries.indices[a:b].astype(np.int64), queries.data[a:b]) for a, b in
            zip(queries.indptr[:-1], queries.indptr[1:])]


# ----------------------------------------------------------------------------- one size
def bench_size(n: int, args, real: sp.csr_matrix | None, split: dict | None = None) -> dict:
    rng = np.random.default_rng(n)
    t0 = time.perf_counter()
    docs = replicate(real, n, seed=n) if real is not None else zipf_vectors(n, seed=n, s=args.zipf_s)
    t_gen = time.perf_counter() - t0
    ids = [f"m{i}" for i in range(n)]
    t0 = time.perf_counter()
    index = SparseIndex.build(docs, ids, top_k=args.top_k)
    t_build = time.perf_counter() - t0
    nnz = int(docs.nnz)
    del docs

    kw = keyword_queries_from(split["queries"], rng, args.queries) if split else keyword_queries(rng, args.queries, args.zipf_s)
    if split:
        text_q = replicate(split["queries"], args.queries, seed=n + 1)
    elif real is not None:
        text_q = replicate(real, args.queries, seed=n + 1)
    else:
        text_q = zipf_vectors(args.queries, seed=n + 1, s=args.zipf_s, terms=(args.query_terms, args.query_terms))
    text_tuples = text_query_tuples(top_k_rows(text_q, args.query_top_k))
    row = {"N": n, "stored_terms": index.nnz, "input_nnz": nnz,
           "avg_terms_per_doc": round(index.nnz / n, 1),
           "generate_s": round(t_gen, 2), "sparse_build_s": round(t_build, 2),
           "sparse_memory_MB": round(index.memory_bytes() / 2 ** 20, 1),
           "keyword": latency_ms(partial(index.search, k=10), kw),
           "keyword_exhaustive": latency_ms(partial(index.search, k=10, exhaustive=True), kw),
           "text": latency_ms(partial(index.search, k=10), text_tuples),
           "avg_query_terms": round(float(np.mean([len(t) for t, _ in text_tuples])), 1)}
    if n == args.strategy_n:
        row["accumulate_p50_ms"] = accumulation_strategies(index, text_tuples[: args.queries // 2])
    del index

    if split:
        dense = DenseIndex.build(replicate_dense(split["dense_docs"], n, seed=n), ids)
        dq = replicate_dense(split["dense_queries"], args.queries, seed=n + 2)
    else:
        dense = DenseIndex.build(np.random.default_rng(n).standard_normal((n, DENSE_DIM), dtype=np.float32), ids)
        dq = np.random.default_rng(n + 2).standard_normal((args.queries, DENSE_DIM), dtype=np.float32)
    row["dense_dim"] = int(dense.vectors.shape[1])
    row["dense_memory_MB"] = round(dense.memory_bytes() / 2 ** 20, 1)
    row["dense"] = latency_ms(lambda q: dense.search(q, k=10), list(dq))
    row["keyword_speedup_vs_dense_p50"] = round(row["dense"]["p50_ms"] / max(row["keyword"]["p50_ms"], 1e-6), 1)
    row["text_speedup_vs_dense_p50"] = round(row["dense"]["p50_ms"] / max(row["text"]["p50_ms"], 1e-6), 1)
    return row


def top_k_rows(m: sp.csr_matrix, k: int | None) -> sp.csr_matrix:
    from engine.index import top_k_sparsify
    return top_k_sparsify(m, k)


# ----------------------------------------------------------------------------- storage vs quality
def storage_vs_recall(doc_vectors, query_vectors, text_to_motion=None,
                      top_ks=(8, 16, 32, 64, 128, None)) -> list[dict]:
    """Index bytes and t2m/m2t R@10 (protocol "all") for each document top-k (None = keep all terms).

    entry_bytes_per_doc counts the stored non-zeros at 3 bytes each (uint16 block offset + uint8 weight);
    memory_MB is what our index really holds (those postings plus per-term offsets and scales, and the ids).
    R@10 is scored through the index, so it includes the 8-bit rounding of the weights.

    query_vectors[i] is the text whose relevant document is row text_to_motion[i] (default i).
    """
    rows = []
    for k in top_ks:
        index = SparseIndex.build(doc_vectors, [str(i) for i in range(doc_vectors.shape[0])], top_k=k)
        m = retrieval_all(index.score_matrix(query_vectors), text_to_motion)
        terms = index.nnz / len(index)
        rows.append({"top_k": k or "all", "memory_MB": round(index.memory_bytes() / 2 ** 20, 3),
                     "terms_per_doc": round(terms, 1), "entry_bytes_per_doc": round(3 * terms, 1),
                     "bytes_per_doc": round(index.memory_bytes() / len(index), 1),
                     "t2m_R@10": round(m["t2m"]["R@10"], 2), "m2t_R@10": round(m["m2t"]["R@10"], 2)})
    return rows


def dense_storage_row(doc_vectors: np.ndarray, query_vectors: np.ndarray) -> dict:
    """The dense baseline in the same table: float32 brute force, 4 bytes per dimension."""
    m = retrieval_all(query_vectors @ doc_vectors.T)
    return {"top_k": f"dense d={doc_vectors.shape[1]} float32", "bytes_per_doc": 4 * doc_vectors.shape[1],
            "t2m_R@10": round(m["t2m"]["R@10"], 2), "m2t_R@10": round(m["m2t"]["R@10"], 2)}


# ----------------------------------------------------------------------------- report
def machine() -> dict:
    return {**results.machine(), "numpy": np.__version__, "threads": 1}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["## Retrieval: sparse inverted index vs dense brute force (bench/bench_retrieval.py)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_GB']} GB; one thread; numpy {m['numpy']}.",
             f"Vectors: {result['vectors']}. Top-10 hits with explanations; latency per query.", "",
             "Keyword queries stop early (the exact top 10 from the heaviest postings first); in brackets the p50 "
             "of scoring every posting of their terms (`exhaustive=True`), the same answers. Text queries (64 "
             "terms) score every posting.", "",
             f"| N | terms/doc | sparse MB | dense MB (d={result['sizes'][0]['dense_dim']} f32) | keyword p50 / p95 ms "
             "(exhaustive p50) | text p50 / p95 ms (terms/query) | dense p50 / p95 ms | keyword x faster "
             "| text x faster | build s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["sizes"]:
        lines.append(f"| {r['N']:,} | {r['avg_terms_per_doc']} | {r['sparse_memory_MB']} | {r['dense_memory_MB']} | "
                     f"{r['keyword']['p50_ms']} / {r['keyword']['p95_ms']} ({r['keyword_exhaustive']['p50_ms']}) | "
                     f"{r['text']['p50_ms']} / {r['text']['p95_ms']} ({r['avg_query_terms']}) | {r['dense']['p50_ms']} / "
                     f"{r['dense']['p95_ms']} | {r['keyword_speedup_vs_dense_p50']} | "
                     f"{r['text_speedup_vs_dense_p50']} | {r['sparse_build_s']} |")
    for r in result["sizes"]:
        if "accumulate_p50_ms" in r:
            lines += ["", f"Score accumulation at N={r['N']:,} (text queries, p50 ms): " +
                      ", ".join(f"{k} {v}" for k, v in r["accumulate_p50_ms"].items()) +
                      " (the index uses np.add.at; single-term queries skip accumulation: postings are impact ordered)."]
    if result.get("storage_vs_recall"):
        lines += ["", "Storage vs quality on the split itself (the seed's Fig. 4): entry bytes = stored terms x 3 "
                  "(uint16 document offset + uint8 weight); index bytes/doc adds the per-term offsets and scales and "
                  "the id strings; R@10 is scored through the index (8-bit weights).", "",
                  "| doc top-k | terms/doc | entry bytes/doc | index bytes/doc | t2m R@10 | m2t R@10 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['top_k']} | {r.get('terms_per_doc', '-')} | {r.get('entry_bytes_per_doc', r['bytes_per_doc'])} | "
                  f"{r['bytes_per_doc']} | {r['t2m_R@10']} | {r['m2t_R@10']} |" for r in result["storage_vs_recall"]]
    if NOTES.exists() and result["vectors"].startswith("real"):
        lines += ["", NOTES.read_text().strip()]
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--vectors", type=Path, help="scipy sparse .npz of real lexical document vectors")
    p.add_argument("--query-vectors", type=Path, help="with --vectors: .npz of query vectors, row i relevant to "
                                                     "document i (enables the storage vs R@10 table)")
    p.add_argument("--checkpoint", type=Path, help="a trained lexical checkpoint: encode --data's --split with it")
    p.add_argument("--dense-checkpoint", type=Path, help="the dense baseline trained on the same data")
    p.add_argument("--data", help="dataset spec for --checkpoint")
    p.add_argument("--split", default="test")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--top-k", type=int, default=None, help="document top-k at build time (default: keep all)")
    p.add_argument("--query-terms", type=int, default=32, help="terms per synthetic text query")
    p.add_argument("--query-top-k", type=int, default=None, help="query top-k at query time")
    p.add_argument("--zipf-s", type=float, default=1.0)
    p.add_argument("--strategy-n", type=int, default=100_000, help="N at which to compare accumulation methods")
    p.add_argument("--no-write", action="store_true", help="print JSON only, leave RESULTS.md alone")
    args = p.parse_args(argv)

    split = None
    if args.checkpoint:
        if not (args.dense_checkpoint and args.data):
            p.error("--checkpoint needs --dense-checkpoint and --data")
        split = encode_split(args.checkpoint, args.dense_checkpoint, args.data, args.split)
        real = split["docs"]
        described = f"real: {split['what']}, replicated with +-10% noise; keyword queries = 1-3 of a caption's top 5 terms"
    else:
        real = sp.load_npz(args.vectors).tocsr().astype(np.float32) if args.vectors else None
        described = (f"real ({args.vectors.name}, replicated with +-10% weight noise)" if real is not None else
                     f"synthetic Zipf s={args.zipf_s}, 32-64 terms/doc, {args.query_terms}-term text queries")
    result = {"machine": machine(), "vectors": described, "sizes": []}
    for n in args.sizes:
        result["sizes"].append(bench_size(n, args, real, split))
        print(json.dumps(result["sizes"][-1]), file=sys.stderr, flush=True)
    if split:
        result["storage_vs_recall"] = storage_vs_recall(split["docs"], split["queries"])
        result["storage_vs_recall"].append(dense_storage_row(split["dense_docs"], split["dense_queries"]))
    elif real is not None and args.query_vectors:
        queries = sp.load_npz(args.query_vectors).tocsr().astype(np.float32)
        result["storage_vs_recall"] = storage_vs_recall(real, queries)
    print(json.dumps(result, indent=1))
    if not args.no_write:
        results.write_section("bench_retrieval", markdown(result))
    return result


if __name__ == "__main__":
    main()
