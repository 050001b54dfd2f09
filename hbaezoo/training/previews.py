"""Sample grids written during training, with the modes the model supports."""

from __future__ import annotations

import torch

from hbaezoo.errors import CapabilityError
from hbaezoo.registry import SAMPLERS
from hbaezoo.sampling import save_grid
from hbaezoo.scopes import seeded


def save_previews(trainer, batch: dict[str, torch.Tensor]) -> None:
    """samples/<mode>_step<step>.png for each of the trainer's preview modes the model can do."""
    model = trainer.model
    was_training = model.training
    model.eval()
    try:
        # Own RNG stream: previews must not change the training noise (exact resume).
        with seeded(trainer.seed, trainer.device):
            for mode in trainer.preview_modes:
                sampler = SAMPLERS.get(mode)()
                if sampler.needs_sets and batch["x"].ndim != 5:
                    continue
                try:
                    with torch.no_grad():
                        grid = sampler(model, batch["x"], n=8, steps=6)
                except CapabilityError:
                    continue
                save_grid(grid, trainer.rundir.sample_grid(mode, trainer.step))
    finally:
        model.train(was_training)
