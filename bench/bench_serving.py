"""Serving a trained checkpoint on a real library: query and caption latency, index size.

    python bench/bench_serving.py --checkpoint runs/bandai/lexical --library bandai:/path/archive.tar.xz

Measures on one thread: text query end to end (MiniLM encode + inverted-index search with
explanations), keyword query, caption of one motion (mask-predict); index size. In fresh processes (as a
user starting the app): the first search and the first caption after start (the shipped checkpoint
carries its default library's index), and encoding a library the checkpoint does not ship into an empty
cache (clips per second, on the threads given by --encode-threads). Storage vs R@10
over document top-k, beside the dense baseline, is bench_retrieval.py's (--checkpoint). Can save the
library's motion vectors (scipy .npz) for bench_retrieval.py --vectors.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scipy.sparse as sp  # noqa: E402

from bench_retrieval import latency_ms  # noqa: E402
from engine.inference.captioner import LENGTHS, NEIGHBOURS, mask_predict  # noqa: E402

DECODING = {name: p.default for name, p in inspect.signature(mask_predict).parameters.items()}
from results import machine_line, write_section  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    ap.add_argument("--library", default="synthetic")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--captions", type=int, default=20)
    ap.add_argument("--vectors-out", type=Path, default=None, help="save library motion vectors (.npz)")
    ap.add_argument("--encode-threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    from engine.facade import Engine

    engine = Engine(checkpoint=args.checkpoint, data=args.library)
    service, dataset = engine.service(), engine.dataset(args.library)
    start = time.perf_counter()
    search = service.library(dataset)
    build_s = time.perf_counter() - start

    test = dataset.split("test") or dataset.clips
    texts = [c.captions[0] for c in test][: args.queries]
    words = [t.split()[-1].strip(".") for t in texts]
    text_ms = latency_ms(lambda q: search.search_text(q, k=10), texts)
    keyword_ms = latency_ms(lambda q: search.search_keywords(q, k=10, pieces=True), words)
    motions = [dataset.motion(c.id).joints for c in test[: args.captions]]
    caption_ms = latency_ms(lambda j: service.caption(service.encode(j), search), motions)   # as served
    alone_ms = latency_ms(lambda j: service.caption(service.encode(j)), motions)
    cold = first_requests(args.checkpoint, args.library)
    encoding = library_encoding(args.checkpoint, args.library, args.encode_threads)

    if args.vectors_out:
        sp.save_npz(args.vectors_out, search.motions.matrix())

    result = {"checkpoint": args.checkpoint, "library": args.library, "library_clips": len(dataset.clips),
              "index_build_s": round(build_s, 1), "index_MB": round(search.motions.memory_bytes() / 2 ** 20, 2),
              "stored_terms_per_motion": round(search.motions.nnz / len(search.motions), 1),
              "text_query_ms": text_ms, "keyword_query_ms": keyword_ms, "caption_ms": caption_ms,
              "caption_without_library_ms": alone_ms, "caption_head": bool(service.model.caption_head.fitted),
              **cold, **encoding, "load_average": os.getloadavg(),
              "model": {k: getattr(service.config.model, k) for k in ("lexicon", "lex_score", "lex_top_k")}}
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_section("bench_serving", markdown(result))
    return result


COLD = """
import json, sys, time
start = time.perf_counter()
from engine.facade import Engine
engine = Engine(checkpoint=sys.argv[1], data=sys.argv[2])
engine.search("wave left hand", keywords=True)
first_search = time.perf_counter() - start
clip = engine.dataset().clips[0].id
engine.caption(engine.clip(None, clip))
first_caption = time.perf_counter() - start - first_search
start = time.perf_counter()
engine.search("kick -left", keywords=True)                      # reads the shipped parts of the motions
print(json.dumps({"first_search_s": round(first_search, 2), "first_caption_s": round(first_caption, 2),
                  "first_negative_search_s": round(time.perf_counter() - start, 2)}))
"""

ENCODE = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
from engine.facade import Engine
engine = Engine(checkpoint=sys.argv[1], data=sys.argv[2])
dataset = engine.dataset()
engine.service()
start = time.perf_counter()
library = engine.service().library(dataset, top_k=64)          # not the shipped top-k: encoded into the empty cache
seconds = time.perf_counter() - start
start = time.perf_counter()
engine.service().search(library, "walk -left", keywords=True)   # the first `-word` encodes the motions' parts
parts = time.perf_counter() - start
print(json.dumps({"library_encoding_s": round(seconds, 1), "library_clips_per_s": round(len(dataset.clips) / seconds, 1),
                  "parts_encoding_s": round(parts, 1), "parts_clips_per_s": round(len(dataset.clips) / parts, 1),
                  "encode_threads": int(sys.argv[3])}))
"""


def _fresh_process(code: str, *args: str, cache: str | None = None) -> dict:
    import subprocess
    import tempfile
    env = dict(os.environ, MOTIONLEX_CACHE=cache or tempfile.mkdtemp(prefix="motionlex-bench-"))
    env.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_requests(checkpoint: str, library: str) -> dict:
    """The first search and caption of a fresh process (`python -m engine search` from a shell): with an empty
    cache (the very first start: the procedural library is generated) and again with that cache (every later
    start). The app pays neither: it warms up while its page loads (bench_app.py's first requests)."""
    import tempfile
    cache = tempfile.mkdtemp(prefix="motionlex-bench-")
    empty = _fresh_process(COLD, checkpoint, library, cache=cache)
    warm = _fresh_process(COLD, checkpoint, library, cache=cache)
    return {**empty, "first_search_warm_cache_s": warm["first_search_s"],
            "first_caption_warm_cache_s": warm["first_caption_s"],
            "first_negative_search_warm_cache_s": warm["first_negative_search_s"]}


def library_encoding(checkpoint: str, library: str, threads: int) -> dict:
    return _fresh_process(ENCODE, checkpoint, library, str(threads))


def markdown(r: dict) -> str:
    lines = ["## Serving a trained model (bench/bench_serving.py)", "", machine_line() + " One thread.", "",
             f"Checkpoint `{Path(r['checkpoint']).name}`, library `{r['library'].split('/')[-1]}` "
             f"({r['library_clips']} clips): index built in {r['index_build_s']} s, {r['index_MB']} MB, "
             f"{r['stored_terms_per_motion']} stored terms per motion.", "",
             "| measure | p50 ms | p95 ms |", "|---|---|---|"]
    source = "from the caption head's vector, " if r.get("caption_head") else ""
    for name, key in (("text query, end to end (encode + search + explanations)", "text_query_ms"),
                      ("keyword query (no text encoder)", "keyword_query_ms"),
                      (f"caption one motion as served (mask-predict: {len(LENGTHS)} lengths, {DECODING['keep_lengths']} "
                       f"kept after the first pass, {DECODING['iterations'] - 1} short-listed passes, "
                       f"{source}the caption "
                       f"agreeing best with it, at weight {DECODING['consensus']} with the other candidates and at "
                       f"weight {DECODING['neighbour_weight']} with the captions of the {NEIGHBOURS} nearest library "
                       f"motions; includes finding them and the baseline caption)", "caption_ms"),
                      ("caption one motion without a library (no neighbour guidance, no baseline)",
                       "caption_without_library_ms")):
        lines.append(f"| {name} | {r[key]['p50_ms']} | {r[key]['p95_ms']} |")
    lines += ["", f"Model: lexicon {r['model']['lexicon']}, {r['model']['lex_score']} scores, "
              f"{r['model']['lex_top_k'] or 'all'} terms kept per vector.", "",
              f"A fresh process (a CLI call; the app warms up instead, see bench_app): first search {r['first_search_s']} s "
              f"and first caption {r['first_caption_s']} s after it with an empty cache (the very first start, which "
              f"generates the procedural library), {r['first_search_warm_cache_s']} s and "
              f"{r['first_caption_warm_cache_s']} s with it (every later start; the checkpoint ships its default "
              f"library's index); the first query with a `-word` after them "
              f"{r['first_negative_search_warm_cache_s']} s (the shipped parts of the motions). "
              f"Encoding a library it does not ship: {r['library_clips_per_s']} clips/s on {r['encode_threads']} threads "
              f"({r['library_encoding_s']} s for {r['library_clips']} clips, motions only: the caption index is built "
              f"when first asked for); the first query with a `-word` then encodes the motions' parts "
              f"({r['parts_encoding_s']} s, {r['parts_clips_per_s']} clips/s; engine/inference/motion_parts.py). "
              f"Load average during the run: {', '.join(f'{x:.1f}' for x in r['load_average'])}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
