"""engine/inference/attention.py, timeline.py and layer_health.py on the shipped checkpoint: per-joint maps
that really tell joints of one body part apart, word timelines whose max is the served vector's, feature
health per layer whose last row is what `engine eval` reports."""
import numpy as np
import pytest
import torch

from engine import Engine
from engine.inference.attention import joint_attribution
from engine.inference.layer_health import layer_health, layer_names, run_records
from engine.inference.timeline import _pooling_spans, word_timeline
from engine.skeleton import BODY_PARTS


@pytest.fixture(scope="module")
def engine():
    return Engine()


@pytest.fixture(scope="module")
def clip(engine):
    row = engine.library("synthetic", "left", limit=1)[0]
    return engine.clip("synthetic", row["id"])


def test_pca_map_has_22_distinct_joint_rows(engine, clip):
    model = engine.service().model
    assert model.cfg.joint_tokens == "parts"          # the features alone repeat one value per part
    result = joint_attribution(model, clip.joints, "pca", 1)
    heat = result["map"]
    assert heat.shape == (clip.frames, 22) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    arm = list(BODY_PARTS["left_arm"])
    per_joint = heat[:, arm].sum(axis=0)
    assert len(set(np.round(per_joint, 4))) == len(arm)      # joints of one part differ
    assert 0 < result["explained"] < 1 and "gradient x input" in result["method"]


def test_word_attribution_is_what_moves_the_word(engine, clip):
    """Nudging the inputs of the most attributed joint changes the word's weight more than nudging the least
    attributed one: the map is a real local sensitivity, not decoration."""
    service = engine.service()
    model = service.model
    word = service.vocab.top_terms(service.encode(clip.joints).vector, 1)[0][0]
    term = int(model.lexicon.position[service.vocab.id(word)])
    result = joint_attribution(model, clip.joints, "word", term=term)
    per_joint = np.abs(result["signed"]).sum(axis=0)
    top, low = int(np.argmax(per_joint)), int(np.argmin(per_joint))

    def weight(joints):
        from engine.models.encode import pad_batch, windows
        spans = windows(len(joints), model.cfg.max_frames)
        x, mask = pad_batch([joints[a:b] for a, b in spans], model.device)
        with torch.no_grad():
            return float(model.motion_lexical_from_tokens(model.motion_tokens(x, mask))[:, term].max())

    base = weight(clip.joints)
    assert base == pytest.approx(result["target_value"], rel=1e-4)

    def nudged(joint):
        moved = clip.joints.copy()
        moved[:, joint] += 0.005 * np.sign(np.random.default_rng(0).standard_normal(3)).astype(np.float32)
        return abs(weight(moved) - base)

    assert nudged(top) > nudged(low)


def test_attention_through_the_facade(engine, clip):
    found = engine.attention(clip, "word", word="left")
    assert found["map"].shape == (clip.frames, 22) and found["word"] == "left"
    assert len(found["summary"]["joints"]) == 5 and found["summary"]["peak_s"][1] > found["summary"]["peak_s"][0]
    from engine.errors import MotionLexError
    with pytest.raises(MotionLexError, match="not a word"):
        engine.attention(clip, "word", word="zzqqxx")
    with pytest.raises(MotionLexError, match="lexicon"):
        engine.attention(clip, "word", word="submarine")


def test_pooling_spans_cover_the_window():
    spans = _pooling_spans(64, 4, 4)
    assert spans == [(0, 16), (16, 32), (32, 48), (48, 64)]
    assert _pooling_spans(10, 4, 4)[:3] == [(0, 4), (4, 8), (8, 10)]   # 3 patches: one window empty
    assert _pooling_spans(9, 4, 0) == [(0, 4), (4, 8), (8, 9)]


def test_word_timeline_is_the_vector_before_the_max(engine, clip):
    service = engine.service()
    long = np.concatenate([clip.joints, clip.joints[::-1]])        # longer than one encoder window
    encoding = service.encode(long)
    timeline = word_timeline(service.model, service.vocab, long, encoding.vector, 6, ["left", "zzqq"])
    assert timeline["values"].shape == (len(timeline["words"]), -(-len(long) // 4))
    assert "left" in timeline["words"] and timeline["unknown"] == ["zzqq"]
    window_max = encoding.window_p.max(dim=0).values.numpy()
    for word, row in zip(timeline["words"], timeline["values"]):
        position = int(service.model.lexicon.position[service.vocab.id(word)])
        assert row.max() == pytest.approx(float(window_max[position]), rel=1e-5)
    from engine.inference.timeline import pooled_columns
    columns, spans = pooled_columns(service.model, long)
    assert len({a for a, _ in spans}) < len(spans) or len(spans) > 4        # overlapping encoder windows
    positions = [int(service.model.lexicon.position[service.vocab.id(w)]) for w in timeline["words"]]
    for column, (a, b) in zip(columns, spans):                              # each cell: the max of what covers it
        cells = timeline["values"][:, a // 4: -(-b // 4)]
        assert (cells >= column[positions][:, None] - 1e-6).all()
    assert timeline["seconds"][0] == pytest.approx(0.1) and timeline["columns"][-1][1] == pytest.approx(len(long) / 20)
    assert len(set(np.round(timeline["values"][0], 3))) > 2       # it varies over time


def test_feature_health_per_layer_matches_eval(engine):
    ds = engine.dataset("synthetic")
    motions = [ds.motion(c.id).joints for c in ds.clips if c.split == "test"][:16]
    report = layer_health(engine.service().model, motions)
    assert [r["layer"] for r in report["layers"]] == layer_names(engine.service().model)
    assert all(r["LER"] > 1 for r in report["layers"])
    from engine.evaluation.evaluate import feature_health
    expected = feature_health(engine.service().model, motions)
    assert report["layers"][-1]["LER"] == pytest.approx(expected["LER"], rel=1e-6)
    assert report["layers"][-1]["MOM"] == pytest.approx(expected["MOM"], rel=1e-6)
    assert "collapse" in report["meaning"]


def test_run_records_read_logged_feature_health():
    records = [{"phase": "cmmm", "step": 1, "loss": 2.0, "inverse_ler": 0.25},
               {"phase": "cmmm", "step": 2, "loss": 1.0, "inverse_ler": 0.2, "MOM": 3.0}]
    found = run_records(records)
    assert found["series"]["LER (1 / inverse_ler)"] == [("cmmm", 1, 4.0), ("cmmm", 2, 5.0)]
    assert found["series"]["MOM"] == [("cmmm", 2, 3.0)]
    assert run_records([{"phase": "cmmm", "step": 1, "loss": 1.0}])["series"] == {}
