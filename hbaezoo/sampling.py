"""Inference modes of `hbaezoo sample`, one registered part each, and `sample_to_file` behind the command.

A mode maps a model (and, if it `needs_data`, a batch of test images or sets) to a
grid [rows, cols, C, H, W] in [-1, 1]; `save_grid` writes it as one PNG.
"""

from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange

from hbaezoo.components.priors import check_temperature, tempered
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.errors import ConfigError, DataError
from hbaezoo.models.base import Model, as_set
from hbaezoo.paths import check_output_file
from hbaezoo.registry import SAMPLERS
from hbaezoo.rundir.loading import load
from hbaezoo.scopes import seeded
from hbaezoo.seeds import check_seed

MAX_GRID = 1024  # rows or columns of one PNG; more is a typo, and would not fit in memory


def save_grid(grid: torch.Tensor, path: Path) -> None:
    """Grid [rows, cols, C, H, W] in [-1, 1] -> PNG with 2-px light borders."""
    from torchvision.utils import save_image  # a second to import: only when a grid is written

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, cols = grid.shape[:2]
    save_image(
        rearrange(grid.float().cpu(), "r c ch h w -> (r c) ch h w"),
        path, nrow=cols, padding=2, normalize=True, value_range=(-1, 1), pad_value=1.0,
    )


def real_then_made(real: torch.Tensor, made: torch.Tensor) -> torch.Tensor:
    """Sets real, made [B, K, C, H, W] -> grid rows real₁, made₁, real₂, made₂, ... [2B, K, C, H, W]."""
    return rearrange(torch.stack([real, made], dim=1), "b two k c h w -> (b two) k c h w")


@SAMPLERS.register("recon")
class StochasticReconstruction:
    """Inputs (top row) and `per_input` stochastic reconstructions below, one z' each."""

    needs_data = True
    needs_sets = False

    def __init__(self, *, per_input: int = 4) -> None:
        self.per_input = per_input

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = x[:n] if x.ndim == 4 else x[:n, 0]
        return torch.cat([x.unsqueeze(0), model.reconstruct(x, self.per_input)])


@SAMPLERS.register("uncond")
class UnconditionalSamples:
    """n codes from the prior (columns), `per_code` draws of z' each (rows)."""

    needs_data = False
    needs_sets = False

    def __init__(self, *, per_code: int = 4) -> None:
        self.per_code = per_code

    def __call__(self, model: Model, x, *, n: int, steps: int) -> torch.Tensor:
        return model.sample(n, self.per_code)


@SAMPLERS.register("markov")
class MarkovChain:
    """Chains x → E → G → E → G ... from test images (columns), `steps` links (rows)."""

    needs_data = True
    needs_sets = False

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = x[:n] if x.ndim == 4 else x[:n, 0]
        return model.markov_chain(x, steps)


@SAMPLERS.register("set_recon")
class SetReconstruction:
    """Each input set (a row) followed by a new set generated from its code (the next row)."""

    needs_data = True
    needs_sets = True

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = as_set(x)[:n]
        new = model.reconstruct_set(x, x.shape[1])
        return real_then_made(x, new)


@SAMPLERS.register("set_complete")
class SetCompletion:
    """Completed sets: a real test set (a row), then its first `given` views and the rest generated (the next row)."""

    needs_data = True
    needs_sets = True
    TEST_KWARGS = {"given": 1}

    def __init__(self, *, given: int = 2) -> None:
        if not isinstance(given, int) or given < 1:
            raise ConfigError(f"--given must be an integer >= 1 (views of each set shown to the model), got {given!r}.")
        self.given = given

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = as_set(x)[:n]
        if self.given >= x.shape[1]:
            raise ConfigError(f"--given {self.given}: the test sets hold {x.shape[1]} views, so nothing is left to "
                              f"complete; give at most {x.shape[1] - 1}.")
        seen = x[:, : self.given]
        completed = torch.cat([seen, model.reconstruct_set(seen, x.shape[1] - self.given)], dim=1)
        return real_then_made(x, completed)


@SAMPLERS.register("set_uncond")
class SetGeneration:
    """Unconditional sets: one prior code per row, `set_size` elements with different z'."""

    needs_data = False
    needs_sets = False

    def __init__(self, *, set_size: int = 8) -> None:
        self.set_size = set_size

    def __call__(self, model: Model, x, *, n: int, steps: int) -> torch.Tensor:
        return model.sample_sets(n, self.set_size)


# -- `hbaezoo sample` ----------------------------------------------------------------------------
def held_out_inputs(dataset_factory, data: dict, n: int, sets: bool, seed: int) -> torch.Tensor:
    """n held-out images [n, C, H, W] or sets [n, K, C, H, W] (K as in training, 8 if unset)."""
    dataset = dataset_factory(split="test")
    if len(dataset) == 0:
        raise DataError(f"the test split of the run's dataset is empty, and this mode draws held-out "
                        f"{'sets' if sets else 'images'} from it; use a mode that needs no data (uncond, set-uncond), "
                        f"or give the dataset a test split (e.g. a larger test_fraction).")
    set_size = (data.get("set_size") or 8) if sets else None
    plan = BatchPlan(dataset.group_ids, batch_size=n, set_size=set_size, seed=seed)
    return next(batches(dataset, plan, start=0, stop=1))["x"]


def check_image_suffix(out: Path) -> None:
    """PIL picks the image format by the suffix: a path without a known one is refused before any work."""
    from PIL import Image

    Image.init()
    if out.suffix.lower() not in Image.registered_extensions():
        raise ConfigError(f"--out {out}: {out.suffix or 'no suffix'} is not an image format; end the path in .png "
                          f"(or .jpg, .webp), e.g. {out.with_suffix('.png')}.")


def sample_to_file(run_dir, mode: str, out, *, n: int = 8, steps: int = 6, device: str = "auto",
                   seed: int = 0, plugins=(), use_ema: bool = True, trust_config: bool = False,
                   given: int | None = None, temperature: float | None = None) -> Path:
    """One grid PNG at `out` from the run's newest checkpoint, in inference mode `mode`.

    `given`: how many views of each set the `set_complete` mode shows the model. `temperature`: the fitted
    code prior's (`priors.gmm.temperature`; below 1 the truncation trick) for the modes that draw codes from
    it, in place of the run's; a fitted noise prior keeps its own.
    """
    out = check_output_file(out, "--out")
    check_image_suffix(out)
    check_seed(seed, "--seed")
    if n > MAX_GRID or steps > MAX_GRID:
        raise ConfigError(f"--n {n} / --steps {steps}: a grid holds at most {MAX_GRID} rows or columns; "
                          f"ask for fewer (e.g. --n 8) and run again for more.")
    factory = SAMPLERS.get(mode)
    if given is not None and "given" not in SAMPLERS.part(mode).parameters():
        raise ConfigError(f"--given applies to the set-complete mode, not to {mode.replace('_', '-')}.")
    sampler = factory() if given is None else factory(given=given)
    if temperature is not None:
        temperature = check_temperature(temperature, "--temperature")
        if sampler.needs_data:
            raise ConfigError(f"--temperature scales the spread of codes drawn from the prior; the "
                              f"{mode.replace('_', '-')} mode reads its codes off test images. Use it with a mode "
                              f"that draws them: " + ", ".join(p.name.replace("_", "-") for p in SAMPLERS.parts()
                                                                if not SAMPLERS.get(p.name).needs_data) + ".")
    run = load(run_dir, device=device, use_ema=use_ema, plugins=plugins, trust_config=trust_config)
    model, data, dataset_factory = run.model, run.data, run.dataset_factory
    prior = getattr(model, "sampling_prior", None)  # the encoding models' code prior (models/base.py)
    owner = f"the {model.display_name} of {run_dir}"
    with torch.no_grad(), seeded(seed, model.device), tempered(prior, temperature, "--temperature", owner):
        x = None
        if sampler.needs_data:
            x = held_out_inputs(dataset_factory, data, n, sampler.needs_sets, seed).to(model.device)
        grid = sampler(model, x, n=n, steps=steps)
    save_grid(grid, out)
    return out
