"""Serving a real (tiny) checkpoint: encoding, captioning, search, evaluation and their CLI verbs."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.facade import Engine
import scipy.sparse as sp

from engine.models.encode import as_scored, encode_motions, encode_texts, windows
from engine.inference.captioner import NeighbourCaptions, _lexical_choice, lexical_agreement, mask_predict
from engine.models.caption_text import _dedupe
from engine.metrics.captioning import CiderD, cider_d, consensus_cider, tokenize_caption
from tests.test_train_helpers import DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    return Engine(checkpoint=str(tiny_checkpoint), data=DATA)


def test_windows_cover_the_clip_with_overlap():
    assert windows(10, 32) == [(0, 10)]
    w = windows(100, 32)
    assert w[0] == (0, 32) and w[-1] == (68, 100) and all(b - a == 32 for a, b in w)
    assert all(w[i + 1][0] < w[i][1] for i in range(len(w) - 1))


def test_long_motion_vector_is_the_max_over_its_windows(engine):
    model = engine.service().model
    joints = engine.clip(DATA, engine.dataset().clips[0].id).joints
    long = np.concatenate([joints, joints[::-1], joints])[: 3 * model.cfg.max_frames]
    raw = encode_motions(model, [long], scored=False).toarray()[0]
    parts = [encode_motions(model, [long[a:b]], scored=False).toarray()[0]
             for a, b in windows(len(long), model.cfg.max_frames)]
    np.testing.assert_allclose(raw, np.max(parts, axis=0), rtol=1e-5, atol=1e-5)   # float32: batched and single GEMMs differ ~1e-6
    whole = encode_motions(model, [long]).toarray()[0]   # as served: normalised after the max (cosine models)
    expected = as_scored(model, sp.csr_matrix(raw[None])).toarray()[0]   # top-k and normalisation after the max
    np.testing.assert_allclose(whole, expected, rtol=1e-5, atol=1e-6)
    if model.cfg.lex_top_k:
        assert np.count_nonzero(whole) <= model.cfg.lex_top_k
    assert (whole >= 0).all()


def test_text_vectors_are_full_vocabulary_and_dense_vectors_unit(engine):
    model = engine.service().model
    lexical = encode_texts(model, ["a person walks", "someone waves the left hand"])
    assert lexical.shape == (2, 30522) and lexical.nnz > 0
    dense = encode_texts(model, ["a person walks"], kind="dense")
    assert dense.shape[0] == 1 and abs(np.linalg.norm(dense[0]) - 1) < 1e-5


def test_cosine_models_hand_out_unit_vectors_and_dot_models_raw_ones():
    from types import SimpleNamespace
    from engine.models.config import ModelConfig
    raw = sp.csr_matrix(np.array([[3.0, 0, 4.0], [0, 0.5, 0]], dtype=np.float32))
    unit = as_scored(SimpleNamespace(cfg=ModelConfig(lex_score="cosine")), raw)
    np.testing.assert_allclose(unit.toarray(), [[0.6, 0, 0.8], [0, 1, 0]], rtol=1e-6)
    assert unit.nnz == raw.nnz   # normalising never adds terms
    assert as_scored(SimpleNamespace(cfg=ModelConfig()), raw) is raw
    with pytest.raises(Exception, match="lex_score"):
        ModelConfig(lex_score="euclid")


def test_mask_predict_returns_one_caption_per_motion(engine):
    model = engine.service().model
    p = torch.rand(3, len(model.lexicon))
    captions = mask_predict(model, p, lengths=(4, 6), iterations=3)
    assert len(captions) == 3
    for c in captions:
        assert c.length in (4, 6) and c.text and c.log_prob <= 0
        assert "[MASK]" not in c.text and "[SEP]" not in c.text


def test_repeated_words_and_phrases_are_dropped():
    """Parallel decoding's typical failure: neighbours claim the same word or phrase."""
    words = "a person waves their left their left hand hand".split()
    assert _dedupe(words) == "a person waves their left hand".split()
    assert _dedupe("a b c d a b c d e".split()) == "a b c d e".split()       # up to four words
    assert _dedupe("a b c d e a b c d e".split(), longest=4) == "a b c d e a b c d e".split()
    assert _dedupe("walks to the door to the left".split()) == "walks to the door to the left".split()


def test_mask_predict_picks_the_candidate_that_agrees_with_the_motion(engine):
    """select="lexical": of the captions decoded at each kept length, the one whose lexical vector is
    closest to the decoded vector (the caption head's prediction from the motion's) plus `consensus` x its
    CIDEr-D against the other candidates; select="log_prob": the decoder's most probable one."""
    model = engine.service().model
    p = torch.rand(2, len(model.lexicon))
    decoded = model.caption_head(p)
    lengths, everything = (4, 6, 8), len(model.lexicon)   # no short-list: every length decodes alike alone or together
    per_length = [mask_predict(model, p, lengths=(n,), keep_lengths=1, shortlist=everything) for n in lengths]
    by_prob = mask_predict(model, p, lengths=lengths, keep_lengths=3, shortlist=everything, select="log_prob")
    for consensus in (0.0, 0.05, 10.0):
        chosen = mask_predict(model, p, lengths=lengths, keep_lengths=3, shortlist=everything, consensus=consensus)
        for b in range(2):
            texts = [per_length[j][b].text for j in range(3)]
            score = lexical_agreement(model, texts, decoded[b:b + 1])[:, 0].numpy() + consensus * consensus_cider(texts)
            assert chosen[b].text == texts[int(score.argmax())]
    for b in range(2):
        assert by_prob[b].log_prob == pytest.approx(max(per_length[j][b].log_prob for j in range(3)), abs=1e-5)
    with pytest.raises(ValueError, match="select"):
        mask_predict(model, p, select="longest")


def test_consensus_prefers_what_the_other_candidates_say():
    texts = ["a person waves the left hand", "a person waves their left hand", "someone jumps high",
             "a person waves the left hand slowly"]
    votes = consensus_cider(texts)
    assert votes.argmin() == 2 and votes[0] == votes.max()
    assert consensus_cider(["one caption"]).tolist() == [0.0]
    assert consensus_cider(["same words", "same words"]).tolist() == [0.0, 0.0]   # shared n-grams weigh nothing


def test_search_hits_agree_with_brute_force_scores(engine):
    result = engine.search("a person walks forward", DATA, k=5, top_k=None)
    search = engine.service().library(engine.dataset(DATA), None)
    query = encode_texts(engine.service().model, ["a person walks forward"])
    brute = np.asarray((query @ search.motions.matrix().T).todense()).ravel()
    best = np.sort(brute)[::-1][: len(result["hits"])]
    np.testing.assert_allclose([h["score"] for h in result["hits"]], best, rtol=2e-3, atol=1e-3)
    assert all(h["terms"] for h in result["hits"])


def test_keyword_query_and_no_known_word(engine):
    from engine.errors import MotionLexError
    with pytest.raises(MotionLexError, match="keyword"):
        engine.search("\u2603\u2603", DATA, keywords=True)      # snowmen: [UNK] only
    with pytest.raises(MotionLexError, match="type a query"):
        engine.search("   ", DATA)
    out = engine.search("walk:2 -left", DATA, keywords=True, k=3)
    # "walk" is searched in all its forms, which share its weight 2
    assert "walk" in dict(out["query_terms"]) and sum(w for _, w in out["query_terms"]) == pytest.approx(2.0)
    assert out["inflections"]["walk"] == ["walked", "walking", "walks"]


def test_caption_explain_compare(engine):
    motion = engine.clip(DATA, engine.dataset().clips[1].id)
    cap = engine.caption(motion, DATA)
    assert isinstance(cap["caption"], str) and cap["baseline"]["caption"]
    assert cap["guide_motions"] == 20 and cap["guide_captions"] >= 20   # all captions of the 20 nearest guided it
    assert cap["baseline"]["clip"] != motion.name   # a library clip is not its own neighbour
    service = engine.service()
    own = service.caption(service.encode(motion.joints), service.library(engine.dataset(DATA)))
    assert own["baseline"]["clip"] == motion.name and own["baseline"]["score"] == pytest.approx(1.0, abs=1e-3)
    exp = engine.explain(motion, components=2)
    c, t, j = exp["pca"]["intensities"].shape
    assert c == 2 and j == 22 and t == -(-motion.frames // exp["frames_per_patch"])
    cmp = engine.compare(motion, "a person walks")
    assert 0.0 <= cmp["score"] and "motion_only" in cmp


def test_one_encoder_pass_per_analysed_motion(engine, monkeypatch):
    """Caption + explain + compare of one upload read one encoding: the motion encoder runs once."""
    model = engine.service().model
    engine.service().library(engine.dataset(DATA))          # the library's own encoding is not the request's
    motion = engine.clip(DATA, engine.dataset().clips[2].id)
    calls = []
    real = model.motion_tokens
    monkeypatch.setattr(model, "motion_tokens", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = engine.analyse(motion, DATA, caption="a person waves the left hand")
    assert len(calls) == 1
    assert result["caption"]["caption"] and result["compare"]["score"] >= 0.0
    assert result["explain"]["pca"]["intensities"].shape[2] == 22
    assert result["compared_with"] == "a person waves the left hand"
    calls.clear()
    engine.caption(motion, DATA), engine.explain(motion), engine.compare(motion, "a person walks")
    assert len(calls) == 3                                   # the single-purpose verbs: one pass each


def test_encoding_matches_the_library_path(engine):
    """The one-pass encoding gives the vector the batched library path gives, for a motion longer than a window."""
    model = engine.service().model
    long = np.concatenate([engine.clip(DATA, c.id).joints for c in engine.dataset().clips[:4]])
    assert len(long) > model.cfg.max_frames
    encoding = engine.service().encode(long)
    np.testing.assert_allclose(encoding.vector, encode_motions(model, [long]).toarray()[0], atol=1e-5)
    assert encoding.window_p.shape[0] == len(windows(len(long), model.cfg.max_frames))
    assert encoding.features.shape[:2] == (-(-len(long) // model.cfg.patch_frames), 22)


def test_neighbours_captions_steer_the_choice_between_candidates(engine):
    """Selection = agreement with the decoded vector + consensus + weight x CIDEr-D against the neighbours'."""
    model = engine.service().model
    motion = engine.clip(DATA, engine.dataset().clips[1].id)
    p = engine.service().encode(motion.joints).p[None]
    texts = ["A person walks forward.", "Someone waves the left hand.", "A person jumps in place."]
    library = [[tokenize_caption(t)] for t in ("a man waves his left hand", "a person walks", "someone jumps")]
    guides = NeighbourCaptions([["a man waves his left hand", "someone waves a hand"]], CiderD(library))
    plain = _lexical_choice(model, texts, p, 0.05, None, 0.0)[0]
    guided = _lexical_choice(model, texts, p, 0.05, guides, 100.0)[0]
    assert int(guided.argmax()) == 1
    cider = guides.cider.scores_against(texts, guides.captions[0])
    np.testing.assert_allclose(guided - plain, 100.0 * cider, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="neighbour caption lists"):
        mask_predict(model, p, neighbours=NeighbourCaptions([[], []], guides.cider))


def test_caption_head_is_fitted_by_caption_tuning_and_predicts_captions_better_than_the_motion(engine):
    """In the training clips, the head's vector is closer to the captions' mean vector than p_m is."""
    model = engine.service().model
    assert model.caption_head.fitted
    clips = engine.dataset().split("train")[:40]
    p = encode_motions(model, [engine.clip(DATA, c.id).joints for c in clips]).toarray()
    p = model.lexicon.from_full(torch.from_numpy(p))
    target = torch.stack([model.lexicon.from_full(torch.from_numpy(encode_texts(model, c.captions).toarray())).mean(0)
                          for c in clips])
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(model.caption_head(p), target).mean() > cosine(p, target).mean() + 0.05
    assert mask_predict(model, p[:2], caption_head=False)[0].text and mask_predict(model, p[:2])[0].text


def test_index_is_cached_then_shipped_and_reused(engine, tiny_checkpoint, tmp_path, monkeypatch):
    """A library's index is written once to the cache; `ship` puts it in the checkpoint, which is then
    read first: a fresh engine searches without encoding anything (no motion-encoder pass)."""
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path / "cache"))
    built = engine.build_index(DATA, top_k=16)
    cached = list((tmp_path / "cache" / "index").glob("*/motions/manifest.json"))
    assert len(cached) == 1 and built["saved_in"].startswith(str(tmp_path / "cache"))
    fresh = Engine(checkpoint=str(tiny_checkpoint), data=DATA)
    before = {p: p.stat().st_mtime for p in cached}
    fresh.build_index(DATA, top_k=16)
    assert all(p.stat().st_mtime == m for p, m in before.items())   # loaded, not rebuilt
    shipped = fresh.build_index(DATA, top_k=16, ship=True)
    assert Path(shipped["saved_in"]).parent == Path(tiny_checkpoint) / "library"
    word = next(iter(engine.explain(engine.clip(DATA, engine.dataset().clips[0].id))["terms"]))
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path / "empty"))
    third = Engine(checkpoint=str(tiny_checkpoint), data=DATA)
    model = third.service().model
    calls = []
    real = model.motion_tokens
    monkeypatch.setattr(model, "motion_tokens", lambda *a, **k: calls.append(1) or real(*a, **k))
    hits = third.search(word, DATA, keywords=True, top_k=16)["hits"]
    assert hits and calls == []                                    # the shipped index: nothing encoded
    assert not (tmp_path / "empty" / "index").exists()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_cli_eval_prints_every_section(tiny_checkpoint):
    proc = run_cli("eval", "--checkpoint", str(tiny_checkpoint), "--data", DATA, "--split", "test", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("retrieval", "protocols", "captioning", "lexical", "feature_health"):
        assert key in out
    assert set(out["retrieval"]["t2m"]) >= {"R@1", "R@2", "R@3", "R@5", "R@10", "MedR"}
    assert set(out["protocols"]) >= {"all", "threshold", "dissimilar", "batches_32"}
    assert out["captioning"]["caption_head"] is True and out["captioning"]["neighbours"] == 20
    for row in ("model", "retrieval_augmented", "nearest_neighbour", "nearest_pose_neighbour",
                "neighbours_consensus"):
        assert {"BLEU@1", "BLEU@4", "ROUGE-L", "CIDEr", "BERTScore"} <= set(out["captioning"][row])


def test_cli_search_caption_explain_audit(tiny_checkpoint, tmp_path):
    ck = ["--checkpoint", str(tiny_checkpoint)]
    proc = run_cli("search", *ck, "--library", DATA, "--query", "walk", "--keywords", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "hits" in json.loads(proc.stdout)
    npy = tmp_path / "m.npy"
    np.save(npy, Engine(data=DATA).clip(DATA, Engine(data=DATA).dataset().clips[0].id).joints)
    proc = run_cli("caption", str(npy), *ck, "--library", DATA, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["caption"]
    proc = run_cli("explain", str(npy), *ck, "--caption", "a person walks", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pca_shape"][2] == 22
    proc = run_cli("audit", DATA, *ck, "--worst", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["disagreements"]) == 3
    # a training-run folder keeps its LexMLM phase: the seed's Fig. 5b comparison is there
    assert "after LexMLM" in report["base_encoder"] and report["base_encoder_caption_terms"]
    assert all(0 < share <= 100 for _, share in report["base_encoder_caption_terms"])


def test_cli_user_errors_exit_2_without_traceback(tiny_checkpoint, tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an npy file")
    proc = run_cli("caption", str(bad), "--checkpoint", str(tiny_checkpoint), "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "bad.npy" in proc.stderr
    proc = run_cli("search", "--checkpoint", str(tmp_path), "--query", "walk")
    assert proc.returncode == 2 and "not a checkpoint folder" in proc.stderr


def test_a_corrupt_saved_index_is_rebuilt_not_fatal(engine, tiny_checkpoint):
    built = engine.build_index(DATA, top_k=8)
    newest = Path(built["saved_in"]) / "motions" / "manifest.json"
    (newest.parent / "inv_docs.npy").write_bytes(b"\x93NUMPY garbage")   # the top_k=8 index just built
    fresh = Engine(checkpoint=str(tiny_checkpoint), data=DATA)
    out = fresh.build_index(DATA, top_k=8)
    assert out["motions"] == len(fresh.dataset(DATA).clips)


def test_consensus_is_cider_against_the_other_candidates():
    texts = ["a person waves the left hand", "a person waves their left hand", "someone jumps high",
             "a person waves their left hand", "a person raises both hands slowly"]
    expected = [cider_d([t] * (len(texts) - 1), [[o] for j, o in enumerate(texts) if j != i])
                for i, t in enumerate(texts)]
    assert consensus_cider(texts) == pytest.approx(expected, abs=1e-12)


def test_warm_up_leaves_nothing_for_the_first_search_and_caption(tiny_checkpoint, monkeypatch):
    """After Engine.warm_up (what the app runs at start), a first search and caption load, encode and count
    nothing more: no model load, no library index, no caption n-gram statistics."""
    from engine.inference import library_search, service as service_module
    engine = Engine(checkpoint=str(tiny_checkpoint), data=DATA)
    engine.warm_up()
    built = []
    monkeypatch.setattr(service_module, "LibrarySearch", lambda *a, **k: built.append("index"))
    monkeypatch.setattr(library_search, "CiderD", lambda *a, **k: built.append("cider"))
    monkeypatch.setattr(service_module.ModelService, "__init__", lambda *a, **k: built.append("model"))
    assert engine.search("walk", keywords=True)["hits"]
    assert engine.caption(engine.clip(None, engine.dataset().clips[1].id))["caption"]
    assert built == []


def test_a_serving_engine_runs_numpy_blas_on_one_thread(engine):
    from threadpoolctl import threadpool_info
    engine.service()
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_the_served_caption_encodes_its_candidates_once(engine, monkeypatch):
    """Guided and decoder-alone choices read one set of candidate cosines (Candidates.agreement)."""
    import engine.inference.captioner as captioner
    calls = []
    real = captioner.lexical_agreement
    monkeypatch.setattr(captioner, "lexical_agreement", lambda *a: calls.append(1) or real(*a))
    motion = engine.clip(DATA, engine.dataset().clips[1].id)
    service = engine.service()
    out = service.caption(service.encode(motion.joints), service.library(engine.dataset()), two_part=False)
    assert out["guide_captions"] > 0 and len(calls) == 1
