"""The bundled model on the real MiniLM backbone: text/motion lexical vectors, lexicon, freezing, groups."""
import pytest
import torch

from engine.models.config import ModelConfig
from engine.models.lexical_model import LexicalMotionLanguageModel
from engine.models.text_encoder import base_model_hash, resolve_text_model_path
from engine.models.masking import mask_tokens
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


def test_combined_step_trains_what_it_should(model):
    """A LexMLM + LexCMLP step on a restricted lexicon: finite loss, gradients where expected."""
    model.train()
    ids, mask = model.tokenize(CAPTIONS)
    model.build_lexicon(CAPTIONS)
    try:
        tok = model.tokenizer
        enc_in, enc_labels = mask_tokens(ids, mask, 0.3, tok.mask_token_id, tok.all_special_ids,
                                           torch.Generator().manual_seed(0), vocab_size=model.vocab_size)
        dec_in, dec_labels = mask_tokens(ids, mask, 1.0, tok.mask_token_id, tok.all_special_ids)
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


def test_restricted_lexicon_backward_equals_full_vocabulary_at_its_ids(model):
    """Forward and backward through a restricted lexicon are the full vocabulary's, restricted to its ids:
    the same weights at those ids and the same gradients in the backbone and the LM head."""
    words = "person walks runs jumps waves kicks turns sits stands left right arm leg slowly fast circle".split()
    captions = [" ".join(words[(i + k) % len(words)] for k in range(10)) for i in range(6)]
    ids, mask = model.tokenize(captions)

    def weights_and_grads(lexicon_ids):
        model.zero_grad(set_to_none=True)
        p, _ = model.text_lexical(ids, mask)
        p = p if lexicon_ids is None else p[:, lexicon_ids]   # full vocabulary: keep the lexicon's columns
        (p * column_weights).sum().backward()
        grads = {n: w.grad.clone() for n, w in model.named_parameters() if w.grad is not None}
        return p.detach(), grads

    try:
        lexicon = model.build_lexicon(captions)
        assert 0 < len(lexicon) < 1000
        column_weights = torch.rand(len(lexicon), generator=torch.Generator().manual_seed(0)) + 0.5
        p_lex, g_lex = weights_and_grads(None)
        model.set_lexicon(type(lexicon).full(30522))
        p_full, g_full = weights_and_grads(lexicon.term_ids)
    finally:
        model.zero_grad(set_to_none=True)
        model.set_lexicon(type(model.lexicon).full(30522))
    assert p_lex.shape == (6, len(lexicon)) and (p_lex > 0).any()
    assert torch.allclose(p_lex, p_full, atol=1e-5)
    assert set(g_lex) == set(g_full) and "mlm_head.bias" in g_lex
    assert any(n.startswith("text_backbone.encoder.layer.5.") for n in g_lex)
    scale = max(g.abs().max().item() for g in g_full.values())      # float32 rounding is relative to it
    for name in g_full:
        assert torch.allclose(g_lex[name], g_full[name], rtol=1e-4, atol=1e-6 * scale), name
    outside = torch.ones(30522, dtype=torch.bool)
    outside[lexicon.term_ids] = False
    assert (g_lex["mlm_head.bias"][outside] == 0).all()     # terms outside the lexicon get no gradient


def test_words_only_vectors_weigh_no_punctuation_special_token_or_stop_word(model):
    """scored_terms="words" (the tiny preset): p is zero at ".", "[SEP]", "the", ... on both sides, and equal
    to the "all" model's p at every word; the decoders still predict every lexicon term."""
    from engine.vocab import is_scored_term

    ids, mask = model.tokenize(CAPTIONS)
    joints, fmask = motions(2), torch.ones(2, 40, dtype=torch.bool)
    vocab = model.tokenizer.get_vocab()
    unscored = torch.tensor([i for w, i in vocab.items() if not is_scored_term(w)])
    assert {vocab[w] for w in (".", "[SEP]", "the", "a", "person", "[CLS]")} <= set(unscored.tolist())
    assert not any(i in set(unscored.tolist()) for i in (vocab["left"], vocab["walks"], vocab["##s"]))
    everything = LexicalMotionLanguageModel(ModelConfig.tiny(dropout=0.0, scored_terms="all")).eval()
    everything.load_state_dict(model.state_dict())
    with torch.no_grad():
        p_text, _ = model.text_lexical(ids, mask)
        p_motion, _ = model.motion_lexical(joints, fmask)
        all_text, _ = everything.text_lexical(ids, mask)
        all_motion, _ = everything.motion_lexical(joints, fmask)
        logits = model.decode_text(p_text, ids, mask)
    assert model.cfg.scored_terms == "words" and p_text[:, unscored].abs().max() == 0
    assert p_motion[:, unscored].abs().max() == 0
    assert all_text[:, unscored].max() > 0 and all_motion[:, unscored].max() > 0   # the paper's model weighs them
    scored = torch.ones(30522, dtype=torch.bool)
    scored[unscored] = False
    assert torch.allclose(p_text[:, scored], all_text[:, scored]) and torch.allclose(p_motion[:, scored], all_motion[:, scored])
    assert logits.shape[-1] == 30522 and logits[..., vocab["the"]].abs().max() > 0   # captions keep "the"
