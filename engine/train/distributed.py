"""PyTorch DDP under `torchrun`: process group, rank, sharding and gathering with gradients.

Nothing home-made: `torchrun --nproc_per_node=N -m engine train ...` sets RANK / WORLD_SIZE /
LOCAL_RANK / MASTER_ADDR; we init the process group (nccl on GPU, gloo on CPU) and wrap the
phase's step module in DistributedDataParallel, which averages gradients over ranks.

Contrastive losses need the *global* batch: each rank all-gathers the embeddings with
`torch.distributed.nn.functional.all_gather`, whose backward sums the incoming gradients over
ranks. Every rank then computes the same global loss L, the gradient reaching its local
embeddings is W * dL/de_local, and DDP's mean over W ranks gives exactly the single-process
gradient. Batch-level terms (InfoNCE, FLOPs, CCCL, triplets) are therefore computed on gathered
tensors; per-sample terms (reconstruction, MLM) are local means that DDP averages.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup() -> DistInfo:
    """Init the process group when launched by torchrun (WORLD_SIZE > 1); no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local_rank)


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def device_for(info: DistInfo) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", info.local_rank)
    return torch.device("cpu")


def shard(indices: list, info: DistInfo) -> list:
    """This rank's contiguous slice of the global batch (so gathering restores the global order)."""
    if not info.enabled:
        return indices
    per = -(-len(indices) // info.world)
    return indices[info.rank * per:(info.rank + 1) * per]


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate a (B_local, ...) tensor over ranks along dim 0, keeping gradients."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    import warnings
    from torch.distributed.nn.functional import all_gather
    with warnings.catch_warnings():   # "deprecated" in favour of a private API; still the documented one
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(tensor.contiguous()), dim=0)


def all_reduce_mean(value: float) -> float:
    """Average a logged scalar over ranks (for the metrics log)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()
