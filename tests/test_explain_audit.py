"""Word-level explanations, fidelity and the dataset audit, on hand-made lexical vectors."""
import numpy as np
import pytest

from engine.data.audit import audit, caption_style, important_terms, usage_gaps
from engine.evaluation.fidelity import content_fidelity, label_action, label_side, side_fidelity, word_forms
from engine.explain import disagreement, pca_intensities
from engine.vocab import Vocabulary


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.from_model_dir()


def vec(vocab, **weights):
    v = np.zeros(len(vocab), dtype=np.float32)
    for word, w in weights.items():
        v[vocab.id(word)] = w
    return v


def test_vocab_round_trip_and_top_terms(vocab):
    assert len(vocab) == 30522
    assert vocab.word(vocab.id("left")) == "left"
    v = vec(vocab, left=2.0, the=5.0, hand=1.0)
    v[vocab.id("[CLS]")] = 9.0
    assert vocab.top_terms(v, 5) == [("left", 2.0), ("hand", 1.0)]


def test_side_and_content_fidelity(vocab):
    vectors = np.stack([
        vec(vocab, left=1.0, right=0.5, **{"raise": 2.0}),  # left raise: correct both ways
        vec(vocab, left=1.0, right=2.0, walk=1.0),                         # labelled left: wrong side
        vec(vocab, both=1.0, left=0.2, wave=1.0, run=0.5),                 # both: correct
    ])
    sides = side_fidelity(vectors, ["left", "left", "both"], vocab)
    assert sides["side"] == 50.0 and sides["both"] == 100.0 and sides["n_sided"] == 2
    content = content_fidelity(vectors, ["raise", "raise", "wave"], vocab)
    assert content["content"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert content["per_word"]["raise"] == 50.0 and "per_group" not in content
    assert content["confusions"] == {"raise -> nothing": 1}   # the second raise weighs no action word of the set
    grouped = content_fidelity(vectors, ["raise", "raise", "wave"], vocab, ["raise-left", "raise-left", "wave-both"])
    assert grouped["per_group"] == {"raise-left": 50.0, "wave-both": 100.0}


def test_content_fidelity_reads_every_form_of_the_action_verb(vocab):
    # Captions say "a person sits down": a vector naming "sits" names the action, though "sit" itself is 0.
    vectors = np.stack([vec(vocab, sits=1.0, walk=0.5), vec(vocab, sitting=0.2, walks=0.9),
                        vec(vocab, looking=0.4, walk=0.3), vec(vocab, walking=0.7, sit=0.1)])
    content = content_fidelity(vectors, ["sit", "sit", "look", "walk"], vocab)
    assert content["per_word"] == {"look": 100.0, "sit": 50.0, "walk": 100.0}
    assert content["content"] == 75.0
    assert set(word_forms("sit", vocab)) == {vocab.id("sit"), vocab.id("sits"), vocab.id("sitting")}


def test_pca_intensities_find_the_moving_joint():
    rng = np.random.default_rng(0)
    feats = rng.normal(0, 0.01, size=(16, 22, 8))
    feats[:, 20, 0] += np.linspace(0, 5, 16)  # only the left wrist's feature changes much
    out = pca_intensities(feats, components=2)
    first = out["intensities"][0]
    assert first.shape == (16, 22) and 0.0 <= first.min() and first.max() <= 1.0
    spread = first.max(axis=0) - first.min(axis=0)
    assert int(np.argmax(spread)) == 20
    assert out["explained_variance"][0] > 0.9


def test_pca_intensities_match_an_svd_of_the_samples():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(30, 22, 16)) * np.linspace(3, 0.1, 16)   # distinct variances: unique axes
    out = pca_intensities(feats, components=3)
    flat = feats.reshape(-1, 16) - feats.reshape(-1, 16).mean(axis=0)
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    share = singular ** 2 / (singular ** 2).sum()
    assert np.allclose(out["explained_variance"], share[:3])
    for axis in range(3):   # the same intensities up to the axis's sign (a flip maps x to 1 - x)
        proj = flat @ vt[axis]
        ref = ((proj - proj.min()) / (proj.max() - proj.min())).reshape(30, 22)
        got = out["intensities"][axis]
        assert min(np.abs(got - ref).max(), np.abs(got - (1 - ref)).max()) < 1e-5
        assert abs(got.reshape(-1)[np.abs(proj).argmax()] - 1.0) < 1e-6   # the extreme sample is at 1


def test_disagreement_names_unsaid_and_unseen_words(vocab):
    motion = vec(vocab, run=2.0, left=1.0, arm=0.5)
    caption_v = vec(vocab, walks=1.5, slowly=2.0, left=1.0)
    caption = "A person walks forward to the left, slowly."
    d = disagreement(motion, caption_v, caption, vocab)
    # motion_only: what the motion activates, heaviest first, minus every word the caption says ("left")
    assert d["motion_only"] == [("run", 2.0), ("arm", 0.5)]
    # caption_only: the caption's non-stopwords the motion does not activate, with the caption vector's
    # weight, heaviest first ("left" is activated; "a person to the" are stopwords; "forward" weighs 0)
    assert d["caption_only"] == [("slowly", 2.0), ("walks", 1.5), ("forward", 0.0)]
    # score = 1 - cosine: the vectors share only "left" (1 x 1)
    assert d["score"] == pytest.approx(1.0 - 1.0 / np.sqrt((4 + 1 + 0.25) * (2.25 + 4 + 1)), abs=1e-6)
    short = disagreement(motion, caption_v, caption, vocab, k=1)
    assert short["motion_only"] == [("run", 2.0)] and short["caption_only"] == [("slowly", 2.0)]
    same = disagreement(motion, motion, "run with the left arm", vocab)
    assert same["score"] == pytest.approx(0.0, abs=1e-6) and same["motion_only"] == same["caption_only"] == []
    assert disagreement(motion, vec(vocab, jump=1.0), "jump", vocab)["score"] == pytest.approx(1.0)


def test_caption_style_and_usage_gaps(vocab):
    style = caption_style(["A person walks.", "a person runs", "the man jumps", "walk forward"])
    assert style["dominant_form"] == "a person" and style["inconsistent_share"] == 50.0
    gaps = usage_gaps([["walk", 80.0], ["left", 10.0]], [["walk", 20.0], ["left", 40.0]])
    assert gaps["over_used_by_captions"][0][0] == "walk"
    assert gaps["under_used_by_captions"][0][0] == "left"


def test_audit_ranks_the_mislabelled_clip_first(vocab):
    motions = np.stack([vec(vocab, walk=2.0), vec(vocab, run=2.0), vec(vocab, wave=1.0, left=1.0)])
    captions = ["a person walks", "a person walks", "a person waves the left hand"]
    caps = np.stack([vec(vocab, walk=2.0), vec(vocab, walk=2.0), vec(vocab, wave=1.0, left=1.0)])
    report = audit(["a", "b", "c"], captions, motions, caps, vocab)
    assert report["disagreements"][0]["id"] == "b"
    assert report["disagreements"][0]["motion_only"][0][0] == "run"
    assert important_terms(motions, vocab)[0][1] > 0


def test_labels_of_both_dataset_kinds_name_side_and_action():
    bandai = {"content": "raise-up-left-hand", "side": "left", "action": "raise"}
    assert (label_side(bandai), label_action(bandai)) == ("left", "raise")
    one = {"primitives": ["wave_right"], "sides": ["right"]}
    assert (label_side(one), label_action(one)) == ("right", "wave")
    two = {"primitives": ["punch_left", "turn_left"], "sides": ["left"]}
    assert (label_side(two), label_action(two)) == (None, None)


def test_keyword_precision_counts_label_hits_in_the_top_k(vocab):
    import scipy.sparse as sp
    from engine.evaluation.keywords import keyword_precision
    from engine.models.tokenizer import WordPieceTokenizer
    tokenizer = WordPieceTokenizer(vocab_dir())
    motions = sp.csr_matrix(np.stack([vec(vocab, wave=2.0, left=1.0), vec(vocab, wave=2.0, right=1.0),
                                      vec(vocab, run=2.0), vec(vocab, run=1.5, left=0.1)]))
    labels = ["wave-left", "wave-right", "run", "run"]
    out = keyword_precision(motions, labels, tokenizer, k=2)
    assert out["per_label"]["run"] == 100.0          # both run takes in the top 2
    assert out["per_label"]["wave-left"] == 50.0      # its take first, then the right-hand wave


def vocab_dir():
    from engine.vocab import default_text_model_path
    return default_text_model_path()
