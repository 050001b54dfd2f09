"""Each element's own view z': the noise that makes the generator redraw that very element, G(vᵢ|z).

A set's code holds what its elements share, and one image G(0|z) can only be their average; a view
holds the rest, what sets the element apart, so R can ask for each element itself (models/hbae.py,
`regulariser_views`). A linear head reads the view off the element's encoder features — or, with
`views_within_set`, off those features less their set's mean, so that what the set shares stays with
the code. An MMD pulls the views towards N(0, I), where training's draws take their z', so that a
draw lands among the views R trained the generator on.

The views fill N(0, I) no better than the codes fill theirs, so a sampling draw may take its z' from
a prior fitted to them after training (`noise_prior`, e.g. priors.gmm; ex-post, as for the codes), or
from one fitted to them beside their set's code and drawn given the code (priors.conditional_gmm, or
priors.nearest, which resamples the views of the training sets whose codes lie nearest): which views
an object shows, and how they look, depends on the object.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from einops import rearrange, reduce, repeat
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.components.priors import conditional, fits
from hbaezoo.errors import ConfigError
from hbaezoo.registry import DIVERGENCES


class ElementViews(nn.Module):
    """Views of a set's elements read off their encoder features, their pull towards N(0, I), and the
    noise prior sampling draws take z' from.

    `noise_prior` is a built prior over z' [N] (conditional ones given the set code). `owner` names the model in
    messages, whose settings these are (`HBAE.views_within_set`).
    """

    def __init__(self, *, feature_dim: int, noise_dim: int, noise_prior: nn.Module, within_set: bool = False,
                 owner: str = "ElementViews") -> None:
        super().__init__()
        self.head = nn.Linear(feature_dim, noise_dim)
        # MMD whatever the codes' divergence is, since a view is a point, not a Gaussian that KL could read.
        self.pull = DIVERGENCES.get("mmd")()
        self.within_set = bool(within_set)
        self.noise_prior = noise_prior  # built by the owner, which knows the code it may draw given
        self.owner = owner

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Each element's encoder features [B, K, F] -> its view [B, K, N]."""
        if not self.within_set:
            return self.head(features)
        if features.shape[1] == 1:
            raise ConfigError(f"{self.owner}.views_within_set reads what sets an element apart from its set, "
                              f"and a set of one has nothing: every view would be the head's bias. Train on sets "
                              f"(Trainer.set_size > 1, the Set-HBAE) or leave views_within_set = False.")
        # What sets an element apart from its set, not what the set shares: the object stays with the code.
        return self.head(features - reduce(features, "b k f -> b 1 f", "mean"))

    def divergence(self, views: torch.Tensor) -> torch.Tensor:
        """MMD² between the views [B, K, N] and N(0, I)."""
        return self.pull(Posterior(rearrange(views, "b k n -> (b k) n")))

    def estimated_priors(self, code: Callable[[torch.Tensor], torch.Tensor]
                         ) -> list[tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor]]]:
        """The noise prior where it is fitted to data, with what it is fitted to, read off a batch's encoder
        features [B, K, F] (models/base.py, `Encodes.estimate`): every element's view [B·K, N] — beside its
        set's code, [B·K, Z + N], for a conditional prior. `code` reads the set codes [B, Z] off the features."""
        if not fits(self.noise_prior):
            return []

        def points(features: torch.Tensor) -> torch.Tensor:
            views = rearrange(self(features), "b k n -> (b k) n")
            if not conditional(self.noise_prior):
                return views
            return torch.cat([repeat(code(features), "b z -> (b k) z", k=features.shape[1]), views], 1)

        return [(self.noise_prior, points)]

    def sample(self, codes: torch.Tensor) -> torch.Tensor:
        """One noise vector z' per code, codes [M, Z] -> [M, N], from the noise prior (given the code where the
        prior is conditional)."""
        if conditional(self.noise_prior):
            return self.noise_prior.sample(len(codes), given=codes)
        return self.noise_prior.sample(len(codes))
