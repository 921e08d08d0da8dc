"""The generator's condition (lexical bottleneck + token states, word weights, sentence baseline), the
differentiable feature decoder and the reward's range."""
import numpy as np
import pytest
import torch

from engine.checkpoint import load_checkpoint
from engine.errors import MotionLexError
from engine.models.features_torch import features_to_joints
from engine.models.reward import lexical_reward, text_motion_cosine
from engine.models.text_condition import TextCondition, known_words, parse_word_weights
from engine.motion_io.features263 import joints_to_features
from engine.motion_io.npy_read import recover_from_ric

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def lexical(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)[0]


def test_the_lexical_condition_is_the_bottleneck_of_p_and_the_token_states(lexical):
    from engine.models.encode import scored_lexical
    cond = TextCondition(lexical)(["a person walks forward", "a person waves the left hand"])
    assert cond["cond_token"].shape == (2, lexical.hidden)
    assert cond["cond_states"].shape[:2] == cond["cond_mask"].shape and cond["cond_states"].shape[-1] == lexical.hidden
    assert not torch.allclose(cond["cond_token"][0], cond["cond_token"][1], atol=1e-4)
    # Eq. 4 by hand: p . W_te over the lexicon, divided by the mass of p (cbow_normalise).
    ids, mask = lexical.tokenize(["a person walks forward"])
    p = scored_lexical(lexical, lexical.text_lexical(ids, mask)[0])
    w = lexical.word_embeddings()[lexical.lexicon.term_ids]
    by_hand = (p @ w) / (p.sum(-1, keepdim=True) + 1e-6)
    assert torch.allclose(cond["cond_token"][:1], by_hand, atol=1e-5)
    assert torch.allclose(cond["cond_states"][:1, :mask.shape[1]], lexical.text_hidden(ids, mask), atol=1e-5)


def test_word_weights_steer_the_token_and_only_the_token(lexical):
    condition = TextCondition(lexical)
    prompt = ["a person walks forward"]
    plain = condition(prompt)
    from engine.models.encode import encode_texts
    heaviest = lexical.tokenizer.convert_ids_to_tokens(int(encode_texts(lexical, prompt).toarray()[0].argmax()))
    for weights in ({"walks": 3.0}, "walks:3", f"-{heaviest}", {"left": 1.0}):   # removing a word the prompt holds
        steered = condition(prompt, weights)
        assert not torch.allclose(steered["cond_token"], plain["cond_token"], atol=1e-5), weights
        assert torch.equal(steered["cond_states"], plain["cond_states"])
    assert torch.allclose(condition(prompt, "walks:3")["cond_token"], condition(prompt, {"walks": 3})["cond_token"])
    stronger = condition(prompt, "walks:6")["cond_token"]
    assert not torch.allclose(stronger, condition(prompt, "walks:3")["cond_token"], atol=1e-5)


def test_parse_word_weights(lexical):
    tok = lexical.tokenizer
    walk = tok.convert_tokens_to_ids("walk")
    assert parse_word_weights("walk:2", tok) == {walk: 2.0}
    assert parse_word_weights("-walk", tok) == {walk: 0.0}
    assert parse_word_weights({"walk": -1}, tok) == {walk: 0.0}
    assert parse_word_weights(None, tok) == {} and parse_word_weights("", tok) == {}
    for bad in ("walk:x", {"walk": "many"}, {"walk": float("nan")}):
        with pytest.raises(MotionLexError):
            parse_word_weights(bad, tok)


def test_known_words_are_the_lexicons(lexical):
    assert known_words(lexical, "a person walks") and known_words(lexical, "qwzx") == []


def test_the_sentence_condition_is_one_base_vector(lexical):
    cond = TextCondition(lexical, "sentence")(["a person walks forward", "a person jumps"])
    assert cond["cond_states"] is None and cond["cond_token"].shape == (2, lexical.hidden)
    assert not torch.allclose(cond["cond_token"][0], cond["cond_token"][1], atol=1e-4)
    with pytest.raises(MotionLexError):
        TextCondition(lexical, "sentence")(["a person walks"], "walk:2")


def test_torch_decoding_matches_recover_from_ric_and_passes_gradients():
    from engine.data import open_dataset
    ds = open_dataset("synthetic?n=40&seed=0")
    f = joints_to_features(ds.motion(ds.clips[0].id).joints)
    x = torch.tensor(np.stack([f, f[::-1].copy()]), requires_grad=True)
    out = features_to_joints(x)
    for i, feats in enumerate((f, f[::-1])):
        assert np.allclose(out[i].detach().numpy(), recover_from_ric(feats, 22), atol=1e-4)
    out.square().sum().backward()
    assert x.grad[:, :, :67].abs().sum() > 0 and x.grad[:, :, 67:].abs().sum() == 0


def test_rewards_are_cosines_in_the_unit_interval(lexical):
    from engine.data import open_dataset
    ds = open_dataset("synthetic?n=40&seed=0")
    clips = ds.clips[:6]
    motions = [ds.motion(c.id).joints for c in clips]
    captions = [c.captions[0] for c in clips]
    r = lexical_reward(lexical, captions, motions)
    assert r.shape == (6,) and (r >= 0).all() and (r <= 1 + 1e-6).all()
    assert np.allclose(lexical_reward(lexical, captions, motions, "half"), (1 + r) / 2)
    dense = text_motion_cosine(lexical, captions, motions, "dense")
    assert (np.abs(dense) <= 1 + 1e-6).all()
