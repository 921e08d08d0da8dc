"""Export of a run's generation folders beside its final model (called by export.export_checkpoint).

The served generators (SERVED: the base generator/ and its SoPo tuning sopo/, what the app and `generate`
offer) are copied with their weights cast to `dtype` and their manifests pointing at them (no training state);
the research variants of a run (dpo_offline/, dpo_online/, generator_sentence/, ...) stay in the run folder.
The evaluator keeps only what dense scoring reads (both encoders and the dense heads), its manifest listing
the prefixes left out
(`omitted_prefixes`, which engine/checkpoint.load_weights then does not ask for): its decoders, MLM and
reconstruction heads were never trained and would double its size.
"""
from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save

from ..atomic import atomic_write_bytes, atomic_write_json
from ..checkpoint import FORMAT, MANIFEST, read_manifest
from ..generator_checkpoint import FORMAT as GENERATOR_FORMAT
from ..generator_checkpoint import generator_variants, read_generator_manifest

SERVED = ("generator", "sopo")
EVALUATOR_KEEPS = ("text_backbone.", "motion_encoder.", "text_dense_head.", "motion_dense_head.", "lexicon.")
EVALUATOR_OMITS = ("mlm_head.", "text_decoder.", "motion_decoder.", "motion_recon_head.", "caption_head.")


def _cast(tensors: dict, dtype) -> dict:
    return {n: t.to(dtype) if t.is_floating_point() else t for n, t in tensors.items()}


def export_generation(src: Path, dst: Path, dtype, dtype_name: str) -> dict:
    """-> {folder name: bytes of its exported weights}."""
    sizes = {}
    for name, folder in generator_variants(src).items():
        if name not in SERVED:
            continue
        manifest = read_generator_manifest(folder)
        tensors = _cast(load_file(str(folder / manifest["weights"])), dtype)
        (dst / name).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dst / name / "generator.safetensors",
                           save(tensors, metadata={"format": GENERATOR_FORMAT, "dtype": dtype_name}))
        atomic_write_json(dst / name / "config.json", manifest["config"])
        atomic_write_json(dst / name / MANIFEST, {**manifest, "weights": "generator.safetensors", "train_state": None,
                                                  "dtype": dtype_name, "exported_from": str(folder)})
        sizes[name] = (dst / name / "generator.safetensors").stat().st_size
    evaluator = src / "evaluator"
    if (evaluator / MANIFEST).is_file() and read_manifest(evaluator).get("complete"):
        manifest = read_manifest(evaluator)
        tensors = {n: t for n, t in load_file(str(evaluator / manifest["weights"])).items()
                   if n.startswith(EVALUATOR_KEEPS)}
        (dst / "evaluator").mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dst / "evaluator" / "model.safetensors",
                           save(_cast(tensors, dtype), metadata={"format": FORMAT, "dtype": dtype_name}))
        aliases = {a: b for a, b in manifest.get("aliases", {}).items() if a.startswith(EVALUATOR_KEEPS)}
        atomic_write_json(dst / "evaluator" / "config.json", manifest["config"])
        atomic_write_json(dst / "evaluator" / MANIFEST, {
            **manifest, "weights": "model.safetensors", "train_state": None, "dtype": dtype_name, "aliases": aliases,
            "omitted_prefixes": list(EVALUATOR_OMITS), "exported_from": str(evaluator)})
        sizes["evaluator"] = (dst / "evaluator" / "model.safetensors").stat().st_size
    return sizes
