"""Sampling priors: where codes come from when a model samples without an input.

The paper samples z ~ N(0, I) and relies on the divergence term to pull the aggregate
posterior q(z) onto it. At this scale it does not get there: the codes fill a thin,
stretched sub-space and N(0, I) draws land where the generator never trained
(docs/results.md, `prior_gap`). Ex-post density estimation (Ghosh et al., 2020, "From
variational to deterministic autoencoders") fits a density to the training codes after
training and samples from that instead; the fit is part of the model's state, so it is
saved with every checkpoint.

A prior is a module built with `z_dim`; `sample(n)` gives codes [n, Z]. Priors with
`fits = True` also take `fit(codes [N, Z])`, which the trainer calls on the codes of
training data before each checkpoint (Model.estimate). A prior with `conditional = True`
is also built with `given_dim` and draws given a value: `sample(n, given [n, G])`.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from hbaezoo.errors import ConfigError
from hbaezoo.registry import PRIORS


def fits(prior) -> bool:
    """Whether a prior is fitted to data (`fits = True`), so that its owner must `fit` it; a prior that does
    not say is taken not to be."""
    return bool(getattr(prior, "fits", False))


def conditional(prior) -> bool:
    """Whether a prior (built, or the class that builds it) draws given a value (`conditional = True`): built with
    `given_dim`, fitted to rows [given, point] and sampled with `given`."""
    return bool(getattr(prior, "conditional", False))


@PRIORS.register("normal")
class StandardNormal(nn.Module):
    """N(0, I), the paper's prior: nothing to fit."""

    fits = False

    def __init__(self, *, z_dim: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.register_buffer("anchor", torch.zeros(0), persistent=False)  # follows the model's device

    def sample(self, n: int) -> torch.Tensor:
        """n codes [n, Z] from N(0, I)."""
        return torch.randn(n, self.z_dim, device=self.anchor.device)


def check_temperature(temperature, setting: str) -> float:
    """A sampling temperature τ as a float, or a ConfigError naming `setting` (a gin name or a flag)."""
    if isinstance(temperature, bool) or not (isinstance(temperature, (int, float)) and 0 < temperature < float("inf")):
        raise ConfigError(f"{setting} scales the code prior's spread at sampling and must be a finite number > 0 "
                          f"(1: the fitted density), got {temperature!r}.")
    return float(temperature)


@contextlib.contextmanager
def tempered(prior, temperature, setting: str, owner: str):
    """Draws inside the block come from the fitted code prior `prior` at `temperature` (None: as it is), and
    its own temperature comes back after; `owner` names whose prior it is in the error for one that has none."""
    if temperature is None:
        yield
        return
    temperature = check_temperature(temperature, setting)
    if not getattr(prior, "fitted", False) or not hasattr(prior, "temperature"):
        raise ConfigError(f"{setting} applies to a code prior fitted to the training codes (`priors.gmm`, the HBAE "
                          f"and Set-HBAE recipes'); {owner} has none. Sample without {setting}.")
    before, prior.temperature = prior.temperature, temperature
    try:
        yield
    finally:
        prior.temperature = before


@PRIORS.register("gmm")
class GaussianMixturePrior(nn.Module):
    """A Gaussian mixture fitted to the training codes (ex-post density estimation).

    scikit-learn's GaussianMixture does the fitting (EM, k-means start, `reg_covar` added to
    each covariance so a few hundred codes in a thin sub-space still give a proper density);
    torch.distributions draws from it. Until the first fit it is N(0, I), the prior an
    untrained model has. `components = 1` is a single full-covariance Gaussian. `temperature` τ
    scales each component's spread at sampling (covariances by τ²; 1 draws the fitted density):
    below 1 it trades variety for draws nearer where the codes are densest, as the truncation
    trick of GAN sampling does (Brock et al., 2019). The fit does not depend on it.
    """

    fits = True

    def __init__(self, *, z_dim: int, components: int = 10, covariance: str = "full", reg_covar: float = 1e-4,
                 seed: int = 0, temperature: float = 1.0) -> None:
        super().__init__()
        if not isinstance(components, int) or components < 1:
            raise ConfigError(f"priors.gmm.components must be an integer >= 1, got {components!r}.")
        if covariance not in ("full", "diag"):
            raise ConfigError(f"priors.gmm.covariance must be 'full' or 'diag', got {covariance!r}.")
        if not (isinstance(reg_covar, (int, float)) and reg_covar > 0):
            raise ConfigError(f"priors.gmm.reg_covar must be a number > 0 (added to every covariance), got {reg_covar!r}.")
        if type(seed) is not int or not 0 <= seed < 2**32:
            raise ConfigError(f"priors.gmm.seed must be an integer in [0, 2**32), got {seed!r}.")
        self.z_dim, self.components, self.covariance = z_dim, components, covariance
        self.reg_covar, self.seed = reg_covar, seed
        self.temperature = temperature
        self.register_buffer("weights", torch.full((components,), 1.0 / components))
        self.register_buffer("means", torch.zeros(components, z_dim))
        self.register_buffer("scale_tril", torch.eye(z_dim).repeat(components, 1, 1))
        self.register_buffer("fitted_on", torch.zeros((), dtype=torch.long))  # codes in the last fit; 0: never fitted

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:  # checked however it is set: gin, `sample --temperature`, Python
        self._temperature = check_temperature(value, "priors.gmm.temperature")

    @property
    def fitted(self) -> bool:
        return bool(self.fitted_on > 0)

    @torch.no_grad()
    def fit(self, codes: torch.Tensor) -> None:
        """Fit the mixture to codes [N, Z] (N >= 2); fewer codes than components uses fewer components."""
        from sklearn.mixture import GaussianMixture  # only a fitting model pays for importing scikit-learn

        if codes.ndim != 2 or codes.shape[1] != self.z_dim or codes.shape[0] < 2:
            raise ValueError(f"priors.gmm.fit needs codes [N >= 2, {self.z_dim}], got {tuple(codes.shape)}")
        data = codes.detach().double().cpu().numpy()
        k = min(self.components, len(data) // 2)
        gmm = GaussianMixture(n_components=k, covariance_type=self.covariance, reg_covar=self.reg_covar,
                              random_state=self.seed).fit(data)
        covariances = gmm.covariances_ if self.covariance == "full" else np.stack([np.diag(c) for c in gmm.covariances_])
        weights = np.zeros(self.components)
        weights[:k] = gmm.weights_  # unused components keep weight 0 (the buffers' shapes never change)
        means = np.zeros((self.components, self.z_dim))
        means[:k] = gmm.means_
        tril = np.tile(np.eye(self.z_dim), (self.components, 1, 1))
        tril[:k] = np.linalg.cholesky(covariances)
        for buffer, value in ((self.weights, weights), (self.means, means), (self.scale_tril, tril)):
            buffer.copy_(torch.from_numpy(value))
        self.fitted_on.fill_(len(data))

    def sample(self, n: int) -> torch.Tensor:
        """n codes [n, Z] from the fitted mixture at its temperature (N(0, I) before the first fit)."""
        if not self.fitted:
            return torch.randn(n, self.z_dim, device=self.means.device)
        mixture = MixtureSameFamily(Categorical(probs=self.weights),
                                    MultivariateNormal(self.means, scale_tril=self.temperature * self.scale_tril))
        return mixture.sample((n,))


@PRIORS.register("conditional_gmm")
class ConditionalGaussianMixture(GaussianMixturePrior):
    """A Gaussian mixture fitted to pairs (g, x) and sampled at a given g: p(x | g).

    Fitted as priors.gmm is, with full covariances, on rows [g, x] [N, G + Z]. At a given g each
    component's Gaussian is conditioned on it — its mean moves along the regression of x on g, its
    covariance shrinks to the part g does not explain (the Schur complement) — and the components are
    weighed by how likely g is under each. Until the first fit it is N(0, I) whatever g is.

    The HBAE's noise prior takes it to draw each element's view given its set's code
    (`models.set_hbae.noise_prior = @priors.conditional_gmm`, models/views.py): an unconditional
    density of views puts any object's views under every code.
    """

    conditional = True

    def __init__(self, *, z_dim: int, given_dim: int, components: int = 10, reg_covar: float = 1e-4,
                 seed: int = 0) -> None:
        if not isinstance(given_dim, int) or given_dim < 1:
            raise ConfigError(f"priors.conditional_gmm.given_dim is the size of what it draws given, an integer >= 1, "
                              f"got {given_dim!r}.")
        super().__init__(z_dim=given_dim + z_dim, components=components, covariance="full", reg_covar=reg_covar,
                         seed=seed)
        self.given_dim, self.point_dim = given_dim, z_dim

    def sample(self, n: int, given: torch.Tensor | None = None) -> torch.Tensor:
        """n points x [n, Z] from p(x | g) at given [n, G] (from the mixture's marginal over x without it)."""
        g = self.given_dim
        if given is None:
            return super().sample(n)[:, g:]
        if given.shape != (n, g):
            raise ValueError(f"priors.conditional_gmm.sample(n, given) needs given [n, {g}] = [{n}, {g}], "
                             f"got {tuple(given.shape)}")
        if not self.fitted:
            return torch.randn(n, self.point_dim, device=self.means.device)
        # In double: the blocks of a covariance fitted to codes in a thin sub-space are near singular.
        tril, means, at = self.scale_tril.double(), self.means.double(), given.double()
        cov = tril @ tril.mT  # [C, G + Z, G + Z]
        gg, gx, xx = cov[:, :g, :g], cov[:, :g, g:], cov[:, g:, g:]
        gain = torch.linalg.solve(gg, gx)  # [C, G, Z]: the regression of x on g
        left = torch.linalg.cholesky(xx - gx.mT @ gain)  # [C, Z, Z]
        likely = MultivariateNormal(means[:, :g], scale_tril=torch.linalg.cholesky(gg)).log_prob(at[:, None])  # [n, C]
        chosen = Categorical(logits=self.weights.double().log() + likely).sample()  # [n]
        mean = means[chosen, g:] + ((at - means[chosen, :g])[:, None] @ gain[chosen])[:, 0]
        noise = torch.randn(n, self.point_dim, 1, dtype=torch.float64, device=at.device)
        return (mean + (left[chosen] @ noise)[..., 0]).to(given.dtype)


@PRIORS.register("nearest")
class NearestNeighbours(nn.Module):
    """p(x | g) by nearest-neighbour resampling: a training point whose given value is among the
    `neighbours` nearest to g, chosen uniformly (the k-NN bootstrap).

    Fitted to rows [g, x] [N, G + Z], of which it keeps up to `capacity` (a seeded random subset of
    more) in a buffer of fixed size, so that a checkpoint loads into a freshly built model. Nothing is
    smoothed: every draw is a point seen in training. Without a given value it draws a kept point
    uniformly; until the first fit it is N(0, I).

    As the HBAE's noise prior (`models.set_hbae.noise_prior = @priors.nearest`) it is fitted to each
    view beside its set's code, so with `neighbours` = the set size (the default 8 is the recipes'
    `Trainer.set_size`) and every row kept (the trainer's 2048 fit within the default capacity) a
    draw borrows one of the views of the training set whose code lies nearest: views an object of
    that kind was seen in, not a density's guess at them (priors.conditional_gmm). Fewer neighbours,
    or a subset that splits sets, draws among the nearest views of several sets.
    """

    fits = True
    conditional = True

    def __init__(self, *, z_dim: int, given_dim: int, neighbours: int = 8, capacity: int = 4096,
                 seed: int = 0) -> None:
        super().__init__()
        for setting, value, least in (("given_dim", given_dim, 1), ("neighbours", neighbours, 1),
                                      ("capacity", capacity, 1)):
            if type(value) is not int or value < least:
                raise ConfigError(f"priors.nearest.{setting} must be an integer >= {least}, got {value!r}.")
        if type(seed) is not int or not 0 <= seed < 2**32:
            raise ConfigError(f"priors.nearest.seed must be an integer in [0, 2**32), got {seed!r}.")
        self.z_dim, self.given_dim, self.neighbours, self.seed = z_dim, given_dim, neighbours, seed
        self.register_buffer("rows", torch.zeros(capacity, given_dim + z_dim))
        self.register_buffer("fitted_on", torch.zeros((), dtype=torch.long))  # rows kept in the last fit; 0: never

    @property
    def fitted(self) -> bool:
        return bool(self.fitted_on > 0)

    @torch.no_grad()
    def fit(self, rows: torch.Tensor) -> None:
        """Keep rows [N >= 1, G + Z] to draw from (a seeded random `capacity` of them where N is larger)."""
        width = self.given_dim + self.z_dim
        if rows.ndim != 2 or rows.shape[1] != width or len(rows) < 1:
            raise ValueError(f"priors.nearest.fit needs rows [N >= 1, {width}] (given, point), got {tuple(rows.shape)}")
        capacity = len(self.rows)
        if len(rows) > capacity:
            keep = torch.randperm(len(rows), generator=torch.Generator().manual_seed(self.seed))[:capacity]
            rows = rows[keep.to(rows.device)]
        self.rows.zero_()
        self.rows[: len(rows)] = rows.to(self.rows)
        self.fitted_on.fill_(len(rows))

    def sample(self, n: int, given: torch.Tensor | None = None) -> torch.Tensor:
        """n points [n, Z]: each a kept point whose given value is among the `neighbours` nearest to its row of
        given [n, G] (any kept point without it)."""
        g = self.given_dim
        if given is not None and given.shape != (n, g):
            raise ValueError(f"priors.nearest.sample(n, given) needs given [n, {g}] = [{n}, {g}], "
                             f"got {tuple(given.shape)}")
        if not self.fitted:
            return torch.randn(n, self.z_dim, device=self.rows.device)
        kept = self.rows[: int(self.fitted_on)]
        if given is None:
            return kept[torch.randint(len(kept), (n,), device=kept.device), g:]
        k = min(self.neighbours, len(kept))
        # Exact distances, not the |a|² + |b|² − 2ab product: a code beside its own training code must find it.
        distances = torch.cdist(given.double(), kept[:, :g].double(), compute_mode="donot_use_mm_for_euclid_dist")
        nearest = distances.topk(k, largest=False).indices  # [n, k]
        chosen = nearest.gather(1, torch.randint(k, (n, 1), device=nearest.device))[:, 0]
        return kept[chosen, g:].to(given.dtype)
