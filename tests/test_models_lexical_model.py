"""The bundled model on the real MiniLM backbone: text/motion lexical vectors, lexicon, freezing, groups."""
import resource
import time

import pytest
import torch

from engine.models.config import ModelConfig
from engine.models.lexical_model import LexicalMotionLanguageModel
from engine.models.text_encoder import base_model_hash, resolve_text_model_path
from engine.train import losses as L

torch.set_num_threads(1)
CAPTIONS = ["a person walks forward and waves", "someone jumps twice", "the man kicks with his left leg",
            "a person sits down slowly"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LexicalMotionLanguageModel(ModelConfig.tiny(dropout=0.0)).eval()


def motions(batch, frames=40):
    g = torch.Generator().manual_seed(batch)
    return torch.randn(batch, frames, 22, 3, generator=g) * 0.3 + torch.tensor([0.0, 0.9, 0.0])


def test_text_lexical_shapes_and_sparsity(model):
    ids, mask = model.tokenize(CAPTIONS)
    assert ids.shape[0] == 4 and ids.shape[1] <= 24 and mask.dtype == torch.bool
    p, hidden, logits = model.text_lexical(ids, mask, return_logits=True)
    assert p.shape == (4, 30522) and hidden.shape == (*ids.shape, 384) and logits.shape == (*ids.shape, 30522)
    assert (p >= 0).all()
    dense = model.text_dense(ids, mask)
    assert dense.shape == (4, 256) and torch.allclose(dense.norm(dim=-1), torch.ones(4), atol=1e-5)


def test_motion_side_shapes(model):
    joints, fmask = motions(2), torch.ones(2, 40, dtype=torch.bool)
    p, mt = model.motion_lexical(joints, fmask)
    assert p.shape == (2, 30522) and (p >= 0).all() and mt.tokens.shape == (2, 10, 7, 384)
    assert model.reconstruct(mt.tokens).shape == (2, 40, 22, 3)
    assert model.motion_dense(joints, fmask).shape == (2, 256)
    ids, mask = model.tokenize(CAPTIONS[:2])
    assert model.decode_text(p, ids, mask, decoder="motion").shape == (*ids.shape, 30522)


def test_restricted_lexicon_matches_full_vocabulary_at_its_ids(model):
    ids, mask = model.tokenize(CAPTIONS)
    with torch.no_grad():
        p_full, _ = model.text_lexical(ids, mask)
        model.build_lexicon(CAPTIONS)
        try:
            p_lex, _ = model.text_lexical(ids, mask)
            lexicon = model.lexicon
            assert len(lexicon) < 30522 and p_lex.shape == (4, len(lexicon))
            assert torch.allclose(p_lex, p_full[:, lexicon.term_ids], atol=1e-5)
            back = lexicon.to_full(p_lex)
            assert torch.allclose(back[:, lexicon.term_ids], p_full[:, lexicon.term_ids], atol=1e-5)
            assert "lexicon.term_ids" in model.state_dict()
        finally:
            model.set_lexicon(type(model.lexicon).full(30522))


def test_frozen_weights_param_groups_and_no_duplicate_embeddings(model):
    frozen = model.frozen_parameter_names()
    assert "text_backbone.embeddings.word_embeddings.weight" in frozen
    assert any(".layer.3." in n for n in frozen) and not any(".layer.4." in n for n in frozen)
    groups = {g["name"]: g for g in model.param_groups(1e-5, 1e-4, 1e-3)}
    assert set(groups) == {"text", "motion", "heads"} and groups["heads"]["lr"] == 1e-3
    in_groups = {id(p) for g in groups.values() for p in g["params"]}
    assert in_groups == {id(p) for p in model.parameters() if p.requires_grad}
    state = model.state_dict()
    assert not any(k.startswith("mlm_head") and "word_embeddings" in k for k in state)
    assert model.mlm_head._tied[0].weight is model.word_embeddings()
    assert len(base_model_hash()) == 64 and resolve_text_model_path().is_dir()


def text_step_seconds(model, ids, mask):
    start = time.perf_counter()
    p, _ = model.text_lexical(ids, mask)
    (p.sum() * 1e-3).backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def test_combined_step_trains_what_it_should(model):
    """A LexMLM + LexCMLP step on a restricted lexicon: finite loss, gradients where expected."""
    model.train()
    ids, mask = model.tokenize(CAPTIONS)
    model.build_lexicon(CAPTIONS)
    try:
        tok = model.tokenizer
        enc_in, enc_labels = L.mask_tokens(ids, mask, 0.3, tok.mask_token_id, tok.all_special_ids,
                                           torch.Generator().manual_seed(0), vocab_size=model.vocab_size)
        dec_in, dec_labels = L.mask_tokens(ids, mask, 1.0, tok.mask_token_id, tok.all_special_ids)
        enc_labels, dec_labels = model.lexicon.positions_of(enc_labels), model.lexicon.positions_of(dec_labels)
        p_t, _, logits = model.text_lexical(enc_in, mask, return_logits=True)
        p_m, _ = model.motion_lexical(motions(4), torch.ones(4, 40, dtype=torch.bool))
        a, _ = L.lexmlm_loss(logits, enc_labels, model.decode_text(p_t, dec_in, mask), dec_labels, p_t)
        b, _ = L.lexcmlp_loss(p_m, p_t, model.decode_text(p_t, dec_in, mask), dec_labels,
                              model.decode_text(p_m, dec_in, mask, "motion"), dec_labels)
        (a + b).backward()
        assert torch.isfinite(a + b)
        named = dict(model.named_parameters())
        assert named["text_backbone.embeddings.word_embeddings.weight"].grad is None
        assert named["text_backbone.encoder.layer.5.attention.self.query.weight"].grad.abs().sum() > 0
        assert named["motion_encoder.temporal_pos"].grad.abs().sum() > 0
        assert named["motion_decoder.head.bias"].grad.abs().sum() > 0
    finally:
        model.zero_grad(set_to_none=True)
        model.set_lexicon(type(model.lexicon).full(30522))
        model.eval()


def test_text_lexical_timing_print(model):
    """Not an assertion: text lexical f+b at 64 x 16 tokens, full vocabulary vs a restricted lexicon."""
    torch.set_num_threads(2)
    model.train()
    words = "person walks runs jumps waves kicks turns sits stands left right arm leg slowly fast circle".split()
    captions = [" ".join(words[(i + k) % len(words)] for k in range(14)) for i in range(64)]
    ids, mask = model.tokenize(captions)
    full = min(text_step_seconds(model, ids, mask) for _ in range(2))
    model.build_lexicon(captions)
    restricted = min(text_step_seconds(model, ids, mask) for _ in range(2))
    n_lex = len(model.lexicon)
    model.set_lexicon(type(model.lexicon).full(30522))
    model.eval()
    torch.set_num_threads(1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntext lexical f+b 64x{ids.shape[1]}: full vocabulary {full:.3f} s, restricted ({n_lex} terms) "
          f"{restricted:.3f} s; peak RSS of this test process {peak_mb:.0f} MB")
