"""The retrieval benchmark's helpers: Zipf vectors, storage vs recall, RESULTS.md section writing."""
import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "bench_retrieval", Path(__file__).resolve().parents[1] / "bench" / "bench_retrieval.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_zipf_vectors_shape_and_skew():
    m = bench.zipf_vectors(2000, seed=0)
    per_doc = np.diff(m.indptr)
    assert m.shape == (2000, bench.VOCAB) and per_doc.min() >= 20 and per_doc.max() <= 64
    df = np.bincount(m.indices, minlength=bench.VOCAB)
    assert df.max() > 50 * np.median(df[df > 0])  # a heavy head, as word frequencies have
    assert (m.data > 0).all()


def test_storage_vs_recall_drops_with_top_k():
    docs = bench.zipf_vectors(300, seed=1)
    queries = docs.copy()  # query i is a noisy copy of document i
    queries.data *= np.random.default_rng(2).uniform(0.5, 1.5, size=queries.data.shape).astype(np.float32)
    rows = bench.storage_vs_recall(docs, queries, top_ks=(1, 64))
    assert rows[0]["memory_MB"] < rows[1]["memory_MB"]
    assert rows[1]["t2m_R@10"] > 95.0 and rows[0]["t2m_R@10"] < rows[1]["t2m_R@10"] - 10


def test_results_section_replaced_in_place(tmp_path):
    import results
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## other\nkeep me\n")
    results.write_section("bench_x", "## X\none", path)
    results.write_section("bench_x", "## X\ntwo", path)
    results.write_section("bench_y", "## Y\nthree", path)
    text = path.read_text()
    assert "keep me" in text and "two" in text and "one" not in text and "three" in text
    assert text.count("<!-- bench_x:end -->") == 1 and text.index("## X") < text.index("## Y")


def test_real_vectors_from_checkpoints_give_latency_and_the_storage_table(tiny_checkpoint):
    from tests.test_train_helpers import DATA
    out = bench.main(["--checkpoint", str(tiny_checkpoint), "--dense-checkpoint", str(tiny_checkpoint),
                      "--data", DATA, "--sizes", "300", "--queries", "20", "--strategy-n", "0", "--no-write"])
    size = out["sizes"][0]
    assert size["N"] == 300 and size["dense_dim"] == 256 and size["keyword"]["p50_ms"] > 0
    table = out["storage_vs_recall"]
    assert [r["top_k"] for r in table[:-1]] == [8, 16, 32, 64, 128, "all"]
    assert all(r["terms_per_doc"] <= 8 for r in table[:1]) and table[-1]["bytes_per_doc"] == 4 * 256
    assert table[-1]["top_k"].startswith("dense") and 0 <= table[-1]["t2m_R@10"] <= 100
