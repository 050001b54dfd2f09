"""Terms the HBAE's generator phase may add beside the critic and R, each asking the draws G(z'|z) of a code
something pixel R cannot (models/hbae.py: `code_consistency`, `feature_matching`, `mode_seeking`; off in the
recipes, measured in docs/results.md).

    code_error   ‖E({G(z'ₖ|z)}ₖ) − z‖²: do a code's draws, encoded as one set, give the code back?
    feature_gap  ‖mean φ(x) − mean φ(G(z'|z))‖² in the critic's trunk φ, per set (feature matching)
    sameness     1 / (how much two draws differ ÷ how much their z' differ) (mode seeking)
"""

from __future__ import annotations

import torch
from einops import rearrange, reduce

from hbaezoo.components.divergences import upcast


class GeneratorPhaseTerms:
    """Mixed into a model that has `generate(z, k)`, `encode(sets)`, `generator(z, z')`, `noise_dim` and a
    `discriminator` with `features(x)`."""

    def code_error(self, z: torch.Tensor, k: int = 1) -> torch.Tensor:
        """Mean ‖E({G(z'ₖ|z)}ₖ) − z‖² over codes z [B, Z]: do k draws of a code, encoded as one set, give it back?

        Only the generator's group steps in its phase, so this teaches G to keep what the encoder
        reads from an image, and leaves z' the rest: what keeps Markov chains on their category.
        A set's code pools its views, so a set's draws are encoded together, not one by one.
        """
        return self.code_gap(rearrange(self.generate(z, k), "(b k) c h w -> b k c h w", k=k), z)

    def code_gap(self, sets: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Mean ‖E(set) − z‖² over sets [B, K, C, H, W] and the codes z [B, Z] they should read back to."""
        # In float32 under autocast, as the divergences are: summed in bf16, squares of order 1 keep two or three digits.
        codes, z = upcast(self.encode(sets).mean, z)
        return (codes - z).pow(2).sum(1).mean()

    def feature_gap(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The squared gap between mean_k φ(xᵏ) and mean_k φ(G(z'ₖ|z)), averaged over features and sets: sets
        x [B, K, C, H, W] against K draws of their codes z [B, Z], read by the critic's trunk φ (feature
        matching, Salimans et al., 2016, per set).

        Pixel R sees colour and silhouette; the critic's features see what tells real images from the
        generator's, so matching them asks the draws for the object, not the mean of its pixels. Averaged
        over the set, the draws need not copy one view: as a set, they must show what its views show.
        The real side carries no gradient, and only the generator steps in its phase.
        """
        k = x.shape[1]
        with torch.no_grad():
            real = reduce(self.discriminator.features(rearrange(x, "b k c h w -> (b k) c h w")), "(b k) f -> b f",
                          "mean", k=k)
        fake = reduce(self.discriminator.features(self.generate(z, k)), "(b k) f -> b f", "mean", k=k)
        return (real - fake).pow(2).mean()

    def sameness(self, z: torch.Tensor) -> torch.Tensor:
        """1 / (mean |G(a|z) − G(b|z)| / mean |a − b|) for two noise draws a, b per code z [B, Z]:
        small when the images differ as much as their noise does (Mao et al., 2019, "Mode seeking
        GANs"), large when G ignores z' and every draw of a code is the same image."""
        a, b = (torch.randn(z.shape[0], self.noise_dim, device=z.device, dtype=z.dtype) for _ in range(2))
        images = self.generator(torch.cat([z, z]), torch.cat([a, b]))
        first, second = images.chunk(2)
        return 1.0 / ((first - second).abs().mean() / (a - b).abs().mean() + 1e-5)
