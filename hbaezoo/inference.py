"""A trained run in Python: what `hbaezoo.load` and `hbaezoo.train` return.

Every method is batch-first (the first dimension indexes your inputs, or the codes drawn) and
runs without gradients in eval mode. Inputs are PIL images, or tensors uint8 in [0, 255] or
float in [-1, 1]; outputs are float images in [-1, 1] on the model's device (`to_pil` for pictures).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import torch
from einops import rearrange

from hbaezoo.components.priors import tempered
from hbaezoo.images import as_model_images, to_pil
from hbaezoo.rundir.loading import LoadedRun
from hbaezoo.scopes import seeded


class Run:
    """A trained model with the records of its run directory.

        run = hbaezoo.load("runs/hbae_shapes")
        codes = run.encode(images)            # [B, Z]
        recon = run.reconstruct(images, k=4)  # [B, 4, C, H, W]

    Attributes: `model` (the nn.Module, eval mode), `config` (config.gin as text), `step` (the
    checkpoint's training step), `data` (data.json), `run_dir` (Path), `image_shape` (C, H, W),
    `logs` (the last training logs, when `hbaezoo.train` made it; else None).
    """

    def __init__(self, loaded: LoadedRun, logs: dict[str, float] | None = None) -> None:
        self.model = loaded.model
        self.config = loaded.config
        self.step = loaded.step
        self.data = loaded.data
        self.run_dir = Path(loaded.run_dir.path)
        self.logs = logs
        self._dataset_factory = loaded.dataset_factory

    def __repr__(self) -> str:
        name = getattr(self.model, "display_name", type(self.model).__name__)
        return f"<hbaezoo Run {str(self.run_dir)!r}: {name} at step {self.step}, images {self.image_shape}>"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images the model was trained on."""
        return tuple(self.data["image_shape"])

    @property
    def device(self) -> torch.device:
        return self.model.device

    def dataset(self, split: str = "test"):
        """The run's dataset (as its recipe names it), split "train" or "test"."""
        return self._dataset_factory(split=split)

    def _images(self, images, what: str, sets: bool = False) -> torch.Tensor:
        return as_model_images(images, self.image_shape, device=self.device, sets=sets, what=what)

    @staticmethod
    def _scope(seed: int | None, device):
        return seeded(seed, device) if seed is not None else nullcontext()

    @torch.no_grad()
    def encode(self, images) -> torch.Tensor:
        """Images [B, C, H, W] (or PIL images) -> codes [B, Z] (the posterior means E(x))."""
        return self.model.encode(self._images(images, "encode(images)")).mean

    @torch.no_grad()
    def encode_sets(self, sets) -> torch.Tensor:
        """Sets [B, K, C, H, W] -> one pooled set code each [B, Z]."""
        return self.model.encode(self._images(sets, "encode_sets(sets)", sets=True)).mean

    @torch.no_grad()
    def reconstruct(self, images, k: int = 1, *, seed: int | None = None) -> torch.Tensor:
        """Images [B, C, H, W] -> k stochastic reconstructions of each [B, k, C, H, W] (one z' per draw)."""
        x = self._images(images, "reconstruct(images)")
        with self._scope(seed, self.device):
            return rearrange(self.model.reconstruct(x, _count(k, "k")), "k b c h w -> b k c h w")

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None, temperature: float | None = None) -> torch.Tensor:
        """n unconditional samples [n, C, H, W]: a code from the model's sampling prior and a z' each.

        `temperature`: these codes from the fitted code prior (`priors.gmm`) at that temperature (below 1 the
        truncation trick), the prior's own setting unchanged after; None draws at the prior's own.
        """
        with self._scope(seed, self.device), self._tempered(temperature):
            return self.model.sample(_count(n, "n"), 1)[0]

    @torch.no_grad()
    def sample_sets(self, n: int, k: int, *, seed: int | None = None, temperature: float | None = None) -> torch.Tensor:
        """n sets of k images [n, k, C, H, W]: one prior code per set, k draws of z' from it (`temperature` as
        in `sample`)."""
        with self._scope(seed, self.device), self._tempered(temperature):
            return self.model.sample_sets(_count(n, "n"), _count(k, "k"))

    def _tempered(self, temperature):
        return tempered(getattr(self.model, "sampling_prior", None), temperature, "temperature",
                        f"the {getattr(self.model, 'display_name', type(self.model).__name__)} of {self.run_dir}")

    @torch.no_grad()
    def reconstruct_sets(self, sets, k: int, *, seed: int | None = None) -> torch.Tensor:
        """Sets [B, K, C, H, W] -> new sets of k images from each set's code [B, k, C, H, W]."""
        x = self._images(sets, "reconstruct_sets(sets)", sets=True)
        with self._scope(seed, self.device):
            return self.model.reconstruct_set(x, _count(k, "k"))

    @torch.no_grad()
    def markov(self, images, steps: int, *, seed: int | None = None) -> torch.Tensor:
        """Images [B, C, H, W] -> Markov chains x, G(E(x)), G(E(G(E(x)))), ... [B, steps + 1, C, H, W]."""
        x = self._images(images, "markov(images)")
        with self._scope(seed, self.device):
            return rearrange(self.model.markov_chain(x, _count(steps, "steps")), "s b c h w -> b s c h w")

    to_pil = staticmethod(to_pil)


def _count(value, name: str) -> int:
    from hbaezoo.errors import ConfigError

    if type(value) is not int or value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}.")
    return value
