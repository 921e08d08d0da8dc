"""Our BERT encoder and WordPiece tokenizer against transformers' (the reference) on the same folder.

Same token ids, masks, pieces and decoded text on real captions (KIT-ML and CMU descriptions from
../shared/data when present, plus built-in sentences and edge cases), the same hidden states to float
precision, the same parameter names (so checkpoints load either way), and our loader refusing folders it
cannot read with a message that names them.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch

from engine.errors import InputError
from engine.models.bert import load_bert
from engine.models.text_encoder import resolve_text_model_path
from engine.models.tokenizer import WordPieceTokenizer

TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "text"
BUILT_IN = ["A person waves with the left hand.", "someone walks backwards slowly, then turns around",
            "the man jumps twice and kicks with his right leg!", "", "zzzqqq", "Ünïcödé naïve café",
            "run:2 jump -left", "x" * 300, "a person " * 40, "He's doing jumping-jacks (3 times)."]


@pytest.fixture(scope="module")
def folder():
    return resolve_text_model_path()


@pytest.fixture(scope="module")
def reference(folder):
    transformers = pytest.importorskip("transformers")
    model = transformers.BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return model.eval(), tokenizer


@pytest.fixture(scope="module")
def ours(folder):
    return load_bert(folder).eval(), WordPieceTokenizer(folder)


def sentences() -> list[str]:
    texts = list(BUILT_IN)
    if (TEXT / "kitml-sentences.txt").is_file():
        texts += [line.strip() for line in (TEXT / "kitml-sentences.txt").open()][:2000]
    if (TEXT / "cmu-trial-descriptions.tsv").is_file():
        texts += [line.split("\t", 1)[-1].strip() for line in (TEXT / "cmu-trial-descriptions.tsv").open()][:1000]
    return texts


def test_same_ids_masks_and_pieces(reference, ours):
    (_, ref), (_, tok) = reference, ours
    texts = sentences()
    for start in range(0, len(texts), 64):
        batch = texts[start:start + 64]
        a = ref(batch, padding="longest", truncation=True, max_length=24, return_tensors="pt")
        b = tok(batch, padding="longest", truncation=True, max_length=24, return_tensors="pt")
        assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["attention_mask"], b["attention_mask"])
        assert ref(batch, add_special_tokens=False)["input_ids"] == tok(batch, add_special_tokens=False)["input_ids"]
    words = {w for t in texts[:400] for w in t.split()}
    assert all(ref.tokenize(w) == tok.tokenize(w) for w in words)
    assert ref("wave", add_special_tokens=False)["input_ids"] == tok("wave", add_special_tokens=False)["input_ids"]


def test_same_decoding_vocabulary_and_special_ids(reference, ours):
    (_, ref), (_, tok) = reference, ours
    rng = random.Random(0)
    for text in sentences()[:600]:
        ids = ref(text, add_special_tokens=False)["input_ids"]
        noise = [rng.randrange(len(tok)) for _ in range(8)] + [tok.cls_token_id, tok.sep_token_id, tok.pad_token_id]
        for seq in (ids, noise):
            assert tok.decode(seq, skip_special_tokens=True) == ref.decode(seq, skip_special_tokens=True)
    assert tok.all_special_ids == ref.all_special_ids
    assert (tok.mask_token_id, tok.pad_token_id, tok.cls_token_id, tok.sep_token_id) == \
           (ref.mask_token_id, ref.pad_token_id, ref.cls_token_id, ref.sep_token_id)
    assert tok.get_vocab() == ref.get_vocab()
    assert tok.convert_ids_to_tokens([2187, 2157, 1001]) == ref.convert_ids_to_tokens([2187, 2157, 1001])
    for tokens in ("walks", ["left", "##gs", "zzzqqqxx", "[MASK]"]):
        assert tok.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)


def test_same_hidden_states_and_parameter_names(reference, ours):
    (ref_model, _), (model, tok) = reference, ours
    assert set(model.state_dict()) == set(ref_model.state_dict())
    texts = sentences()[:256]
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            enc = tok(texts[start:start + 64], padding="longest", truncation=True, max_length=24, return_tensors="pt")
            real = enc["attention_mask"].bool()
            a = ref_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            b = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            assert (a - b)[real].abs().max() < 1e-4
        every = model(**tok(texts[:4], padding=True, return_tensors="pt"), output_hidden_states=True)
        assert len(every.hidden_states) == model.config.num_hidden_layers + 1
        assert torch.equal(every.hidden_states[-1], every.last_hidden_state)


def test_gradients_flow_through_every_layer(ours):
    model, tok = ours
    enc = tok(["a person kicks", "walk"], padding=True, return_tensors="pt")
    model.train()
    try:
        model(**enc).last_hidden_state.square().mean().backward()
    finally:
        model.eval()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()
               if "token_type" not in n and "position" not in n)
    model.zero_grad(set_to_none=True)


def test_folders_it_cannot_read_are_named(folder, tmp_path):
    broken = tmp_path / "not-bert"
    broken.mkdir()
    config = json.loads((folder / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(InputError, match="hidden_act 'relu'"):
        load_bert(broken)
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="no model.safetensors"):
        load_bert(broken)
    from safetensors.torch import load_file, save_file
    state = load_file(str(folder / "model.safetensors"))
    state.pop("encoder.layer.2.output.dense.weight")
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(InputError, match="lacks 1 encoder weights"):
        load_bert(broken)
    with pytest.raises(InputError, match="no tokenizer.json or vocab.txt"):
        WordPieceTokenizer(broken)
    shutil.copyfile(folder / "vocab.txt", broken / "vocab.txt")
    from_vocab = WordPieceTokenizer(broken)                      # the vocab.txt path gives the same ids
    assert from_vocab(BUILT_IN[:3])["input_ids"] == WordPieceTokenizer(folder)(BUILT_IN[:3])["input_ids"]
