"""What every model gives the trainer and the sampler.

A model is an `nn.Module` that owns its parts, names its optimizer groups, and lists
its training *phases* in order: each phase is a group and a loss function of the
batch. The trainer runs the phases and knows nothing else about the model.
Capabilities (`reconstruct`, `sample`, ...) are methods; the defaults here say
clearly that the model lacks them.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from einops import rearrange, repeat
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.components.priors import conditional, fits
from hbaezoo.errors import CapabilityError, ConfigError
from hbaezoo.registry import PRIORS

Batch = dict[str, torch.Tensor]
LossFn = Callable[[Batch], "tuple[torch.Tensor, dict[str, torch.Tensor]]"]


@dataclass(frozen=True)
class Phase:
    """One optimisation step of a training iteration: minimise `loss(batch)` w.r.t. `group`.

    `raises` and `lowers` name entries of the model's `measures(batch)` that a step of this
    phase must move up or down (a critic raises its margin, a generator lowers it);
    `hbaezoo.testing.check_model` steps every phase and checks it.
    """

    group: str
    loss: LossFn
    raises: tuple[str, ...] = ()
    lowers: tuple[str, ...] = ()


def build(part, **dims):
    """Build a part given in gin either as a factory (`@encoders.resnet`) or already built.

    Factories are called with the dimensions the model knows (image shape, z size,
    ...); a built part (`@poolers.mean()`) is used as it is.
    """
    if inspect.isclass(part) or inspect.isfunction(part):
        return part(**dims)
    return part


def as_set(x: torch.Tensor) -> torch.Tensor:
    """Images [B, C, H, W] as sets of one [B, 1, C, H, W]; sets pass through."""
    if x.ndim == 4:
        return x.unsqueeze(1)
    if x.ndim != 5:
        raise ValueError(f"expected images [B, C, H, W] or sets [B, K, C, H, W], got shape {tuple(x.shape)}")
    return x


class Model(nn.Module):
    """Base of every model: phases for the trainer, capabilities for `hbaezoo sample`."""

    #: Printed in messages, e.g. "a GAN has no encoder".
    display_name = "model"
    #: Attribute names of the parts `Trainer.ema_decay` averages; sampling then uses the averages.
    averaged_parts: tuple[str, ...] = ()

    def __init__(self, *, image_shape: tuple[int, int, int], num_classes: int = 0) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes

    # -- training -------------------------------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Optimizer group name -> parameters; every trainable parameter in exactly one group."""
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def measures(self, batch: Batch) -> dict[str, Callable[[], torch.Tensor]]:
        """Named scalars the phases move (`Phase.raises` / `Phase.lowers`), e.g. the critic's margin,
        each as a function of nothing: a check calls it under the seed it gives the phase's loss,
        so a measure that draws noise in the phase's order sees the same noise.

        Written apart from the losses on purpose: a sign error in a loss then shows up as a
        phase moving its measure the wrong way instead of cancelling out.
        """
        return {}

    @property
    def device(self) -> torch.device:
        """Where the model's weights live (CPU for a model without any)."""
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            return tensor.device
        return torch.device("cpu")

    #: Whether `estimate` has anything to fit (the trainer then runs it before each checkpoint).
    estimates = False

    def estimate(self, batches: Iterable[Batch]) -> None:
        """Fit what the model estimates from training data rather than by gradient (e.g. a sampling
        prior over codes). The trainer calls it in eval mode and without gradients."""

    # -- capabilities (override what the model can do) -------------------------------------------
    def _lacks(self, what: str, needs: str) -> CapabilityError:
        return CapabilityError(f"{self.display_name} cannot {what}: {needs}")

    def encode(self, x: torch.Tensor) -> Posterior:
        """Images [B, C, H, W] or sets [B, K, C, H, W] -> posterior over z [B, Z]."""
        raise self._lacks("encode", f"a {self.display_name} has no encoder. Use a model with one (hbae, vae, ...).")

    def reconstruct(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """x [B, C, H, W] -> n stochastic reconstructions [n, B, C, H, W]."""
        raise self._lacks("reconstruct", f"a {self.display_name} has no encoder, so there is nothing to reconstruct from.")

    def sample(self, n: int, per_code: int) -> torch.Tensor:
        """n codes from the prior, `per_code` images each -> [per_code, n, C, H, W]."""
        raise self._lacks("sample unconditionally", f"a {self.display_name} has no prior to sample from.")

    def markov_chain(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """x [B, C, H, W] -> chain x, G(E(x)), G(E(G(E(x)))), ... as [steps + 1, B, C, H, W]."""
        raise self._lacks("run a Markov chain", f"a {self.display_name} needs both an encoder and a stochastic generator.")

    def reconstruct_set(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Sets x [B, K, C, H, W] -> new sets of k elements from their codes [B, k, C, H, W]."""
        raise self._lacks("reconstruct sets", f"a {self.display_name} has no set encoder.")

    def sample_sets(self, n: int, k: int) -> torch.Tensor:
        """n sets of k elements from prior codes -> [n, k, C, H, W]."""
        raise self._lacks("sample sets", f"a {self.display_name} has no code shared by a set's elements.")


def generate_from(generator: nn.Module, z: torch.Tensor, k: int, noise_dim: int, noise_scale: float = 1.0,
                  noise: torch.Tensor | None = None) -> torch.Tensor:
    """k images per code from a generator G(z, z'): z [B, Z] -> [B * k, C, H, W] (the k of one code together);
    z' [B * k, noise_dim] drawn from N(0, I) unless given, times noise_scale."""
    z = repeat(z, "b z -> (b k) z", k=k)
    if noise is None:
        noise = torch.randn(z.shape[0], noise_dim, device=z.device, dtype=z.dtype)
    return generator(z, noise * noise_scale)


def fit_finite(prior, points: torch.Tensor) -> None:
    """Fit a prior to the finite rows of points [N, D]; with fewer than two it keeps its last fit."""
    points = points[torch.isfinite(points).all(1)]
    if len(points) >= 2:
        prior.fit(points)


class Encodes:
    """Mixin for models with an encoder: per-element features, a set pooler, a latent head, and
    every capability built on them (reconstruct, sample, Markov chain, set variants).

    Single images are sets of one, so one code path serves HBAE and Set-HBAE alike. A model
    says only how it draws images from codes (`draw`).
    """

    def init_encoder(self, *, encoder, pooler, head, z_dim: int, prior=None) -> None:
        """Build the encoding parts; `prior` (a registered prior, N(0, I) when None) is what `sample` draws codes from."""
        self.z_dim = z_dim
        self.encoder = build(encoder, image_shape=self.image_shape)
        self.pooler = build(pooler, dim=self.encoder.feature_dim)
        self.head = build(head, in_dim=self.encoder.feature_dim, z_dim=z_dim)
        if conditional(prior):
            raise ConfigError(f"{self.display_name}: prior = {getattr(prior, '__name__', type(prior).__name__)} draws "
                              f"given a value, and a code drawn from the prior is given nothing; use an unconditional "
                              f"prior for the codes (priors.gmm, priors.normal). A conditional prior fits the noise "
                              f"prior of a model with views (noise_prior).")
        self.sampling_prior = build(prior if prior is not None else PRIORS.get("normal"), z_dim=z_dim)

    def estimated_priors(self) -> list[tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor]]]:
        """The priors fitted to data, each with what it is fitted to as read off a batch's element features
        [B, K, F] -> points [N, D]: here the sampling prior, where it fits, and the posterior means of the set
        codes [B, Z]. A model with another fitted prior adds it (models/views.py: the views')."""
        if not fits(self.sampling_prior):
            return []
        return [(self.sampling_prior, lambda features: self.code(features).mean)]

    @property
    def estimates(self) -> bool:
        return bool(self.estimated_priors())

    @torch.no_grad()
    def estimate(self, batches: Iterable[Batch]) -> None:
        """Fit each prior of `estimated_priors` to what it reads of the training batches, one encoder pass
        per batch and one pass over the batches (they may arrive once).

        Non-finite points (a diverging run about to be stopped) are left out; with fewer than two
        finite ones a prior keeps its last fit.
        """
        priors = self.estimated_priors()
        if not priors:
            return
        points: list[list[torch.Tensor]] = [[] for _ in priors]
        for batch in batches:
            features = self.element_features(batch["x"])
            for (_, read), found in zip(priors, points):
                # clone(): under torch.compile's CUDA graphs the next call overwrites an output in place.
                found.append(read(features).clone())
        for (prior, _), found in zip(priors, points):
            fit_finite(prior, torch.cat(found))

    def encode(self, x: torch.Tensor) -> Posterior:
        """Images [B, C, H, W] or sets [B, K, C, H, W] -> posterior over the (set) code [B, Z]."""
        return self.code(self.element_features(x))

    def code(self, features: torch.Tensor) -> Posterior:
        """Each element's encoder features [B, K, F] -> posterior over its set's code [B, Z]."""
        return self.head(self.pooler(features))

    def element_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C, H, W] or sets [B, K, C, H, W] -> each element's encoder features [B, K, F]."""
        x = as_set(x)
        return rearrange(self.encoder(rearrange(x, "b k c h w -> (b k) c h w")), "(b k) f -> b k f", b=x.shape[0])

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.pooler.parameters(), *self.head.parameters()]

    def draw(self, posterior: Posterior, k: int) -> torch.Tensor:
        """k images per code of a posterior over z [B, Z] -> [B * k, C, H, W], the k of one code together."""
        raise NotImplementedError

    def prior(self, n: int) -> Posterior:
        """n codes [n, Z] from the sampling prior (N(0, I) unless one was fitted), as a point-mass posterior."""
        return Posterior(self.sampling_prior.sample(n))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """x [B, C, H, W] -> n stochastic reconstructions [n, B, C, H, W]."""
        return rearrange(self.draw(self.encode(x), n), "(b n) c h w -> n b c h w", n=n)

    @torch.no_grad()
    def sample(self, n: int, per_code: int) -> torch.Tensor:
        """n codes from the prior, `per_code` images each -> [per_code, n, C, H, W]."""
        return rearrange(self.draw(self.prior(n), per_code), "(b n) c h w -> n b c h w", n=per_code)

    @torch.no_grad()
    def markov_chain(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """x [B, C, H, W] -> chain x, G(E(x)), G(E(G(E(x)))), ... as [steps + 1, B, C, H, W]."""
        chain = [x]
        for _ in range(steps):
            chain.append(self.draw(self.encode(chain[-1]), 1))
        return torch.stack(chain)

    @torch.no_grad()
    def reconstruct_set(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Sets x [B, K, C, H, W] -> new sets of k elements from their codes [B, k, C, H, W]."""
        return rearrange(self.draw(self.encode(as_set(x)), k), "(b k) c h w -> b k c h w", k=k)

    @torch.no_grad()
    def sample_sets(self, n: int, k: int) -> torch.Tensor:
        """n sets of k elements from prior codes -> [n, k, C, H, W]."""
        return rearrange(self.draw(self.prior(n), k), "(b k) c h w -> b k c h w", k=k)
