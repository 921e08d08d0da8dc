"""Shared by the tests/test_generation_*.py files (no tests here): shrunken generation configs and one
trained run (evaluator, generator, SoPo) on top of the session's tiny lexical checkpoint."""
from engine.train.run import train
from tests.test_train_helpers import small_config

GEN_DATA = "synthetic?n=40&seed=0"
GEN_SMALL = ["generator.width=32", "generator.depth=1", "generator.heads=2", "generator.ff=64",
             "train.generator.steps=4", "train.generator.batch_size=4", "train.generator.train_frames=40",
             "train.generator.sampling_steps=2", "train.generator.warmup_steps=1",
             "train.sopo.steps=3", "train.sopo.batch_size=2", "train.sopo.samples=2", "train.sopo.sampling_steps=2",
             "train.sopo.warmup_steps=1", "train.evaluator.steps=2", "train.evaluator.batch_size=4",
             "train.evaluator.repetitions=2", "train.evaluator.mm_prompts=2", "train.evaluator.mm_samples=2"]
_RUNS: dict = {}


def gen_config(base, extra=()):
    return small_config(extra=GEN_SMALL + [f"train.generator.base={base}"] + list(extra))


def trained_run(tmp_path_factory, base) -> "Path":
    """evaluator + generator + sopo trained once per test session into a folder of their own."""
    if "run" not in _RUNS:
        out = tmp_path_factory.mktemp("generation") / "run"
        train(gen_config(base), [GEN_DATA], "evaluator,generator,sopo", out)
        _RUNS["run"] = out
    return _RUNS["run"]
