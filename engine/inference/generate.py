"""Text-to-motion generation as served: one prompt -> canonical joints, with their scores and checks.

`GenerationService` sits beside a ModelService (the served lexical model is the condition encoder and the
reward) and loads the checkpoint's generator folders on first use (engine/generator_checkpoint.py; nothing is
ever trained here) and the evaluator <checkpoint>/evaluator when present. A generator conditioned on another
lexical model than the served one is refused (its manifest's weights_hash). Sampling is deterministic under
a seed (one CPU torch.Generator), so base and SoPo with the same seed start from the same noise.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import MotionLexError
from ..generator_checkpoint import conditioned_on, generator_variants, load_generator
from ..metrics.physical import physical_report
from ..motion_io.smoothing import MAX_SIGMA_FRAMES
from ..models.reward import lexical_reward, text_motion_cosine
from ..models.text_condition import TextCondition, known_words, parse_word_weights
from ..models.text_to_motion import decode, generator_seed, predict_lengths, sample
from ..skeleton import FPS

ALIASES = {"base": "generator"}
MIN_SECONDS, MAX_SECONDS = 1.0, 10.0


@dataclass(frozen=True)
class Served:
    """How a generator's output is sampled and finished as served: its train.generator guidance_below, smoothing
    and foot_lock, each unless the caller overrides it (serving, the evaluation and the benchmarks all read these
    here, so "as served" means one thing)."""
    guidance_below: int
    smoothing: float
    foot_lock: bool

    @classmethod
    def of(cls, gen, guidance_below=None, smoothing=None, foot_lock=None) -> "Served":
        g = gen.config.train.generator
        return cls(int(g.guidance_below if guidance_below is None else guidance_below),
                   float(g.smoothing if smoothing is None else smoothing),
                   bool(g.foot_lock if foot_lock is None else foot_lock))


def check_request(seconds, steps, guidance, smoothing=None) -> None:
    """The request limits: seconds in [1, 10] (or None), steps in 1..1000, guidance in [0, 20], smoothing in
    [0, 10] frames (or None: the generator's own)."""
    if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
                                    and MIN_SECONDS <= seconds <= MAX_SECONDS):
        raise MotionLexError(f"seconds must be between {MIN_SECONDS:g} and {MAX_SECONDS:g} (or empty to let the "
                             f"model choose), not {seconds!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 1000:
        raise MotionLexError(f"sampling steps must be a whole number from 1 to 1000, not {steps!r}")
    if not (isinstance(guidance, (int, float)) and math.isfinite(guidance) and 0 <= guidance <= 20):
        raise MotionLexError(f"guidance must be between 0 and 20, not {guidance!r}")
    if smoothing is not None and not (isinstance(smoothing, (int, float)) and math.isfinite(smoothing)
                                      and 0 <= smoothing <= MAX_SIGMA_FRAMES):
        raise MotionLexError(f"smoothing must be between 0 and {MAX_SIGMA_FRAMES:g} frames (0 = the raw output), "
                             f"not {smoothing!r}")


class GenerationService:
    def __init__(self, service):
        self.service = service
        self.variants = generator_variants(service.dir)
        self._loaded: dict = {}
        self._conditions: dict = {}
        self._evaluator = None

    def available(self) -> list[str]:
        return ["base" if n == "generator" else n for n in self.variants]

    def generator(self, name: str):
        folder = ALIASES.get(name, name)
        if not self.variants:
            raise MotionLexError(f"{self.service.dir} has no generator; train one with `python -m engine train "
                                 "--phases evaluator,generator,sopo --base DIR --out DIR`")
        if folder not in self.variants:
            raise MotionLexError(f"no generator {name!r} in {self.service.dir}; available: "
                                 f"{', '.join(self.available())}")
        with self.service.lock:
            if folder not in self._loaded:
                loaded = load_generator(self.variants[folder], self.service.model.device)
                if not conditioned_on(loaded.manifest["lexical"], self.service.model):
                    raise MotionLexError(f"generator {name!r} was conditioned on another lexical model "
                                         f"({loaded.manifest['lexical'].get('path')}) than the one served here")
                self._loaded[folder] = loaded
            return self._loaded[folder]

    def evaluator(self):
        """The evaluator model (lexical-format checkpoint in <checkpoint>/evaluator) or None (none, or unfinished)."""
        from ..checkpoint import load_checkpoint, read_manifest

        path = self.service.dir / "evaluator"
        if self._evaluator is None and (path / "manifest.json").is_file() and read_manifest(path).get("complete"):
            with self.service.lock:
                self._evaluator = load_checkpoint(path, self.service.model.device)[0]
        return self._evaluator

    def condition(self, mode: str) -> TextCondition:
        if mode not in self._conditions:
            self._conditions[mode] = TextCondition(self.service.model, mode)
        return self._conditions[mode]

    def generate(self, prompt: str, model: str = "base", seconds: float | None = None, seed: int = 0,
                 steps: int = 50, guidance: float = 2.5, word_weights=None, smoothing: float | None = None,
                 foot_lock: bool | None = None) -> dict:
        """One prompt -> joints and their checks; smoothing / foot_lock None = the generator's train.generator
        smoothing / foot_lock."""
        began = time.perf_counter()
        check_request(seconds, steps, guidance, smoothing)
        prompt = (prompt or "").strip()
        if not prompt:
            raise MotionLexError("type what the motion should be, e.g. 'a person walks forward and waves'")
        lexical = self.service.model
        weights = parse_word_weights(word_weights, lexical.tokenizer)
        if not known_words(lexical, prompt) and not any(w > 0 for w in weights.values()):
            raise MotionLexError(f"no word of {prompt!r} is known to the model; describe the motion with "
                                 "words such as walk, wave, left, jump")
        gen = self.generator(model)
        limit = gen.train_frames
        frames = None if seconds is None else int(round(seconds * FPS))
        if frames is not None and frames > limit:
            raise MotionLexError(f"this generator was trained on clips of up to {limit / FPS:g} s; ask for at most "
                                 f"that, not {seconds:g} s")
        with self.service.lock, torch.no_grad():
            t0 = time.perf_counter()
            cond = self.condition(gen.config.generator.condition)([prompt], word_weights or None)
            if frames is None:   # the length head, kept within 1 s and what the generator was trained on
                frames = int(predict_lengths(gen.model, cond)[0].clamp(int(MIN_SECONDS * FPS), limit))
            t1 = time.perf_counter()
            served = Served.of(gen, smoothing=smoothing, foot_lock=foot_lock)
            x, mask = sample(gen.model, cond, [frames], steps, guidance, generator_seed(seed), served.guidance_below)
            t2 = time.perf_counter()
            joints = decode(x, mask, gen.normalizer, served.smoothing, served.foot_lock)[0]
            t3 = time.perf_counter()
            reward = float(lexical_reward(lexical, [prompt], [joints])[0])
            evaluator = self.evaluator()
            score = None if evaluator is None else float(text_motion_cosine(evaluator, [prompt], [joints], "dense")[0])
            t4 = time.perf_counter()
        return {"model": model, "variant": gen.variant, "prompt": prompt, "joints": joints, "frames": int(frames),
                "seconds": frames / FPS, "fps": FPS, "seed": int(seed), "steps": int(steps),
                "guidance": float(guidance), "guidance_below": served.guidance_below,
                "smoothing": served.smoothing, "foot_lock": served.foot_lock,
                "length": "given" if seconds is not None else "predicted",
                "word_weights": {lexical.tokenizer.convert_ids_to_tokens(i): w for i, w in weights.items()},
                "reward": reward, "evaluator_score": score, "physical": physical_report(joints),
                "timings": {"condition_s": t1 - t0, "sampling_s": t2 - t1, "decode_s": t3 - t2, "scoring_s": t4 - t3,
                            "total_s": time.perf_counter() - began}}

    def generate_pair(self, prompt: str, seconds: float | None = None, seed: int = 0, steps: int = 50,
                      guidance: float = 2.5, word_weights=None, models: tuple[str, str] = ("base", "sopo"),
                      smoothing: float | None = None, foot_lock: bool | None = None) -> dict:
        """Two generators, one seed, one length (the first one's when predicted): the side-by-side view."""
        first = self.generate(prompt, models[0], seconds, seed, steps, guidance, word_weights, smoothing, foot_lock)
        second = self.generate(prompt, models[1], first["seconds"], seed, steps, guidance, word_weights, smoothing,
                               foot_lock)
        return {models[0]: first, models[1]: second}
