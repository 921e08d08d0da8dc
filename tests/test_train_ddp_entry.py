"""Entry point for the DDP test: `torchrun -m tests.test_train_ddp_entry CONFIG DATA OUT` trains the dense phase.

Every dropout (the text backbone has its own, outside model.dropout) is switched off, so one process
and two processes see the same function of the same global batch.
"""
import sys

import torch

import engine.train.run as run
from engine.config import load_config

_build = run.build_model


def build_without_dropout(*args, **kwargs):
    model = _build(*args, **kwargs)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def main(config_path: str, data: str, out: str) -> dict:
    run.build_model = build_without_dropout
    try:
        return run.train(load_config(config_path), [data], "dense", out)
    finally:
        run.build_model = _build


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:4])
