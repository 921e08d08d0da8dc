"""BERT's WordPiece tokenizer over the `tokenizers` library (Rust, imported in ~0.1 s).

The part of transformers' tokenizer API that MotionLex uses, with the same ids and the same decoded text
(tests/test_models_bert.py checks both on real captions): calling it on texts (padding to the longest,
truncation to max_length with [CLS] and [SEP] counted), tokenize, decode, convert_ids_to_tokens,
convert_tokens_to_ids, get_vocab and the special token ids. Built from the folder's tokenizer.json when it
has one, else from vocab.txt with tokenizer_config.json's lower-casing.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from engine.errors import InputError

SPECIAL = ("unk", "sep", "pad", "cls", "mask")    # transformers' order of all_special_ids


class WordPieceTokenizer:
    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        if (folder / "tokenizer.json").is_file():
            self.backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        elif (folder / "vocab.txt").is_file():
            from tokenizers.implementations import BertWordPieceTokenizer
            options = json.loads((folder / "tokenizer_config.json").read_text()) \
                if (folder / "tokenizer_config.json").is_file() else {}
            self.backend = BertWordPieceTokenizer(str(folder / "vocab.txt"),
                                                  lowercase=options.get("do_lower_case", True))._tokenizer
        else:
            raise InputError(folder, "no tokenizer.json or vocab.txt")
        self.backend.no_padding()
        self.backend.no_truncation()
        for name in SPECIAL:
            token_id = self.backend.token_to_id(f"[{name.upper()}]")
            if token_id is None:
                raise InputError(folder, f"the vocabulary has no [{name.upper()}] token")
            setattr(self, f"{name}_token_id", token_id)
        self.all_special_ids = [getattr(self, f"{name}_token_id") for name in SPECIAL]
        self._vocab: dict[str, int] | None = None

    def __len__(self) -> int:
        return self.backend.get_vocab_size()

    def __call__(self, texts: str | list[str], padding: bool | str = False, truncation: bool = False,
                 max_length: int | None = None, return_tensors: str | None = None,
                 add_special_tokens: bool = True) -> dict:
        """{"input_ids", "attention_mask"}: lists (one text: one list), or (B, L) tensors with return_tensors="pt"."""
        single = isinstance(texts, str)
        encodings = self.backend.encode_batch([texts] if single else list(texts),
                                              add_special_tokens=add_special_tokens)
        ids = [e.ids for e in encodings]
        if truncation and max_length is not None:
            ids = [self._truncate(row, max_length, add_special_tokens) for row in ids]
        width = max(map(len, ids), default=0) if padding else None
        masks = [[1] * len(row) + [0] * ((width or len(row)) - len(row)) for row in ids]
        ids = [row + [self.pad_token_id] * ((width or len(row)) - len(row)) for row in ids]
        if return_tensors == "pt":
            return {"input_ids": torch.tensor(ids, dtype=torch.long), "attention_mask": torch.tensor(masks, dtype=torch.long)}
        return {"input_ids": ids[0], "attention_mask": masks[0]} if single else {"input_ids": ids, "attention_mask": masks}

    def _truncate(self, row: list[int], max_length: int, specials: bool) -> list[int]:
        if len(row) <= max_length:
            return row
        if specials:                               # keep [CLS] ... [SEP]: drop from the end of the text
            return row[:max_length - 1] + [row[-1]]
        return row[:max_length]

    def tokenize(self, text: str) -> list[str]:
        return self.backend.encode(text, add_special_tokens=False).tokens

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def convert_ids_to_tokens(self, ids):
        if isinstance(ids, int):
            return self.backend.id_to_token(ids)
        return [self.backend.id_to_token(int(i)) for i in ids]

    def convert_tokens_to_ids(self, tokens):
        """Token string(s) -> id(s); a token outside the vocabulary is [UNK]."""
        if isinstance(tokens, str):
            found = self.backend.token_to_id(tokens)
            return self.unk_token_id if found is None else found
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def get_vocab(self) -> dict[str, int]:
        if self._vocab is None:
            self._vocab = self.backend.get_vocab()
        return dict(self._vocab)
