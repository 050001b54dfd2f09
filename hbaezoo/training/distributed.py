"""Data parallelism under torchrun: gloo on CPU, nccl on GPU (one per process), gradients averaged per phase.

Gradients are all-reduced by hand after each phase's backward rather than through
DistributedDataParallel, because a model's phases call its parts directly (DDP only
hooks `forward`) and each phase trains a different group. Ranks draw disjoint rows
of the same global batch (see data/batches.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hbaezoo.errors import ConfigError


@dataclass
class Dist:
    enabled: bool = False
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast_parameters(self, model: torch.nn.Module) -> None:
        if self.enabled:
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def init(device: str = "auto") -> Dist:
    """Join the process group torchrun set up (WORLD_SIZE > 1), or run alone.

    Each rank takes the GPU of its LOCAL_RANK (nccl), so a machine needs one GPU per process;
    `device='cpu'` (Trainer.device) keeps every rank on the CPU (gloo) even where CUDA is present.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"Trainer.device = '{device}' but no CUDA device is available; use 'cpu' or 'auto'.")
    if device != "cpu" and torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", local_rank + 1))
        if max(processes, local_rank + 1) > gpus:
            raise ConfigError(
                f"torchrun started {processes} processes on this machine but it has {gpus} CUDA device(s), "
                f"one per process needed (rank {rank} would take cuda:{local_rank}). Use "
                f"--nproc_per_node={gpus} or fewer, or -b \"Trainer.device = 'cpu'\" to train every process "
                f"on the CPU (gloo)."
            )
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Dist(True, rank, world_size, device)
