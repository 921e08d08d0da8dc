"""Exporting a run for serving: float16 weights only, same words and scores within float16 precision."""
import numpy as np
import torch
from safetensors.torch import load_file

from engine.models.encode import encode_texts
from engine.checkpoint import load_checkpoint, read_manifest
from engine.train.export import export_checkpoint


def test_export_halves_the_weights_and_serves_the_same_vectors(tiny_checkpoint, tmp_path):
    out = export_checkpoint(tiny_checkpoint, tmp_path / "served")
    manifest = read_manifest(tmp_path / "served")
    assert manifest["train_state"] is None and manifest["dtype"] == "float16"
    tensors = load_file(str(tmp_path / "served" / manifest["weights"]))
    floats = [t for t in tensors.values() if t.is_floating_point()]
    assert floats and all(str(t.dtype) == "torch.float16" for t in floats)
    original = (tiny_checkpoint / read_manifest(tiny_checkpoint)["weights"]).stat().st_size
    assert out["bytes"] < 0.6 * original

    texts = ["a person walks forward", "someone raises the left hand"]
    trained, served = load_checkpoint(tiny_checkpoint)[0], load_checkpoint(tmp_path / "served")[0]
    with torch.no_grad():   # the pooled vectors before the top-k cut: float16 precision on every term
        raw_a, raw_b = (m.text_lexical(*m.tokenize(texts))[0] for m in (trained, served))
    assert (raw_a - raw_b).abs().max() < 2e-2 * max(1.0, float(raw_a.abs().max()))
    # as served (top-k, normalised): a term at the cut may trade places with its neighbour, nothing more
    a, b = encode_texts(trained, texts).toarray(), encode_texts(served, texts).toarray()
    assert all(len(set(np.flatnonzero(x)) ^ set(np.flatnonzero(y))) <= 4 for x, y in zip(a, b))
    same = [len(set(np.argsort(-x)[:5]) & set(np.argsort(-y)[:5])) / 5 for x, y in zip(a, b)]
    assert np.mean(same) >= 0.8   # the same top words (float16 may swap near-ties in their order)
