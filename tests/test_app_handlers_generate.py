"""Generate tab handlers: the shipped checkpoint (no generator: a message saying how to train one) and a
checkpoint with real (untrained, seconds-long) base and SoPo generators: two synchronised animations, scores
and physical checks, word weights that change the motion, downloads that decode."""
import numpy as np
import pytest

from app import generate_tab
from app.feedback import is_error
from engine import Engine
from tests.app_fixtures import NoProgress, make_generator_checkpoint


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if not hasattr(Engine, "generate"):
        pytest.skip("Engine.generate does not exist yet (the generator is being built)")
    return Engine(checkpoint=make_generator_checkpoint(tmp_path_factory.mktemp("gen") / "ck"))


def test_without_a_generator_the_tab_says_how_to_get_one(tiny_checkpoint):
    plain = Engine(checkpoint=str(tiny_checkpoint))             # a lexical model without generators
    out = generate_tab.generate(plain, "a person walks", 3, 0, 10, 2.5, "", "", progress=NoProgress())
    assert is_error(out[3]) and "holds no generator" in out[3] and "--phases evaluator,generator,sopo" in out[3]
    assert out[0] is None and out[1] == "" and out[2] == ""
    assert "holds no generator" in generate_tab.intro(plain)


def test_prompt_words_are_editable_weights(engine):
    text, bars, note = generate_tab.prompt_words(engine, "a person walks forward and waves")
    pairs = generate_tab.parse_weights(text)
    assert pairs[0][1] == 1.0 and all(0 < w <= 1 for _, w in pairs) and "walk" in text
    assert bars.data[0].type == "bar" and "edit a weight" in note
    assert generate_tab.parse_weights("walk:2 left -run") == [("walk", 2.0), ("left", 1.0), ("run", 0.0)]
    figure, message = generate_tab.edit_weights("walk:2 wave::x")
    assert is_error(message) and "wave::x" in message


def test_generate_both_and_steer_with_a_word(engine):
    prompt = "a person walks forward and waves"
    default, _, _ = generate_tab.prompt_words(engine, prompt)
    figure, base, sopo, status, state = generate_tab.generate(engine, prompt, 2.0, 3, 5, 2.5, default, default,
                                                              progress=NoProgress())
    assert set(state) == {"base", "sopo"} and len(state["base"]["joints"]) == 40 == len(state["sopo"]["joints"])
    assert figure.layout.scene2 is not None and len(figure.layout.meta["motionlex_frames"]) == 40
    for box in (base, sopo):
        assert "**reward**" in box and "**evaluator**" in box and "foot skating" in box and "bone lengths" in box
    assert "steered" not in status                     # unchanged weights: the prompt's own condition
    words = default.split()
    steered = " ".join([words[0].split(":")[0] + ":0"] + words[1:] + ["jump:1"])   # drop the heaviest, add one
    _, _, _, status2, state2 = generate_tab.generate(engine, prompt, 2.0, 3, 5, 2.5, steered, default,
                                                     progress=NoProgress())
    assert "steered by" in status2 and f"-{words[0].split(':')[0]}" in status2
    assert not np.allclose(state["base"]["joints"], state2["base"]["joints"])   # the word changed the motion
    _, _, _, _, again = generate_tab.generate(engine, prompt, 2.0, 3, 5, 2.5, default, default, progress=NoProgress())
    np.testing.assert_allclose(again["base"]["joints"], state["base"]["joints"], atol=1e-5)   # same seed, same motion
    _, held, _, _, locked = generate_tab.generate(engine, prompt, 2.0, 3, 5, 2.5, default, default, True,
                                                  progress=NoProgress())
    assert "planted feet held" in held and "planted feet held" not in base
    assert np.array_equal(locked["base"]["joints"][..., 1], state["base"]["joints"][..., 1])   # heights kept


def test_bad_requests_are_messages(engine):
    out = generate_tab.generate(engine, "a person walks", 30, 0, 5, 2.5, "", "", progress=NoProgress())
    assert is_error(out[3]) and "seconds" in out[3]
    out = generate_tab.generate(engine, "a person walks", 2, 0, 5, 2.5, "walk:2 jump:two", "", progress=NoProgress())
    assert is_error(out[3]) and "jump:two" in out[3]


def test_downloads_decode(engine, tmp_path):
    iio = pytest.importorskip("imageio.v3")
    _, _, _, _, state = generate_tab.generate(engine, "someone jumps", 2.0, 0, 4, 2.5, "", "", progress=NoProgress())
    files, note = generate_tab.downloads(engine, state, progress=NoProgress())
    names = sorted(f.rsplit("/", 1)[-1] for f in files)
    assert names == sorted(f"{m}-seed0.{ext}" for m in ("base", "sopo") for ext in ("npy", "bvh", "gif", "mp4"))
    by_ext = {f.rsplit(".", 1)[-1]: f for f in files if "base" in f}
    np.testing.assert_allclose(np.load(by_ext["npy"]), state["base"]["joints"], atol=1e-6)
    assert open(by_ext["bvh"]).read().startswith("HIERARCHY")
    assert iio.imread(by_ext["gif"], index=None).shape[0] == 20           # 2 s at 10 fps
    import imageio.v2 as imageio
    reader = imageio.get_reader(by_ext["mp4"], format="FFMPEG")
    assert sum(1 for _ in reader) == 40                                     # 2 s at 20 fps
    reader.close()
    assert "SMPL" in note                                                   # why there is no body file
    assert is_error(generate_tab.downloads(engine, None, progress=NoProgress())[1])


def test_downloads_add_the_smpl_body_when_the_user_has_smpl_files(engine, tmp_path, monkeypatch):
    from engine.render import render_backend
    from tests.smpl_toy import write_toy_smpl

    if render_backend() != "pyrender":
        pytest.skip("pyrender with EGL is not available: SMPL bodies are drawn by pyrender only")
    monkeypatch.setenv("MOTIONLEX_SMPL_DIR", str(write_toy_smpl(tmp_path).parent))
    _, _, _, _, state = generate_tab.generate(engine, "someone jumps", 1.0, 0, 4, 2.5, "", "", progress=NoProgress())
    files, note = generate_tab.downloads(engine, {"base": state["base"]}, progress=NoProgress())
    bodies = [f for f in files if f.endswith("-smpl.mp4")]
    assert len(bodies) == 1 and "SMPL body" in note
    import imageio.v2 as imageio
    reader = imageio.get_reader(bodies[0], format="FFMPEG")
    assert sum(1 for _ in reader) == 20                                     # 1 s at 20 fps
    reader.close()
