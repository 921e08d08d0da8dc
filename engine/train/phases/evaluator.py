"""Phase `evaluator`: the retrieval model that scores generated motions (R-precision, MM-Dist, FID, diversity).

The dense baseline's recipe (phases/dense.py: pooled dense vectors of both encoders, InfoNCE) on a model of
its own: the base text model and a freshly initialised motion encoder, with its own seed
(`train.evaluator.seed`), in its own folder <run>/evaluator. Neither the generator nor SoPo ever reads it,
and it shares no trained weight with the lexical model that is SoPo's reward, so a generator that learns to
please the reward is not thereby scored better by the evaluator (the seed's limitation: a biased reward).
"""
from __future__ import annotations

from .dense import Dense


class Evaluator(Dense):
    name = "evaluator"
