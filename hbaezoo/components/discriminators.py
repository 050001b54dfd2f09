"""Discriminators: (image [B, C, H, W], condition z [B, Z]) -> score [B]."""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from hbaezoo.nn.blocks import DownTrunk, sn
from hbaezoo.registry import DISCRIMINATORS


@DISCRIMINATORS.register("projection")
class ProjectionDiscriminator(nn.Module):
    """D(x|z) = h(x)ᵀz + w·φ(x): a projection discriminator with z in place of a label.

    φ is a spectral-normalised residual trunk; h(x) = V φ(x) projects it into z's space
    (Miyato & Koyama, 2018; the paper's Fig. 3). `cond_dim == 0` leaves only the
    unconditional term, an SNGAN critic.

    With `set_spread` it also reads a set's elements jointly: the spread of their features
    (a within-set standard deviation, after Karras et al.'s minibatch standard deviation,
    2018) is scored by one more linear map and added to every element of the set, so K draws
    that show one view K times can give themselves away, which an element-by-element critic
    cannot see. Off by default: as it stands it collapsed the Set-HBAE's game in its 16-px
    screen (docs/results.md, "Generation").
    """

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        cond_dim: int,
        width: int = 64,
        depth: int = 1,
        unconditional_term: bool = True,
        spectral: bool = True,
        set_spread: bool = False,
    ) -> None:
        super().__init__()
        self.trunk = DownTrunk(image_shape=image_shape, width=width, depth=depth, spectral=spectral)
        self.cond_dim = cond_dim
        self.linear = sn(nn.Linear(width, 1), spectral) if unconditional_term or not cond_dim else None
        self.project = sn(nn.Linear(width, cond_dim, bias=False), spectral) if cond_dim else None
        self.spread = sn(nn.Linear(width, 1), spectral) if set_spread else None

    @property
    def reads_sets(self) -> bool:
        """Whether scores depend on the other elements of a set (then callers pass `set_size`)."""
        return self.spread is not None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> φ(x) [B, width] (also used for feature-matching losses)."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor, z: torch.Tensor, set_size: int = 1) -> torch.Tensor:
        """x [B·K, C, H, W] (the K elements of a set next to each other), z [B·K, Z] -> score [B·K].

        K = `set_size` matters only with `set_spread`; a batch that is not whole sets is an error there.
        """
        phi = self.trunk(x)
        score = phi.new_zeros(phi.shape[0])
        if self.linear is not None:
            score = score + self.linear(phi).squeeze(1)
        if self.project is not None:
            score = score + (self.project(phi) * z).sum(dim=1)
        if self.spread is not None and set_size > 1:
            if phi.shape[0] % set_size:
                raise ValueError(f"discriminators.projection(set_spread=True): {phi.shape[0]} images are not whole "
                                 f"sets of {set_size}; pass set_size=1 for single images.")
            sets = rearrange(phi, "(b k) w -> b k w", k=set_size)
            # sqrt(var + ε): a set of identical copies has zero spread, where a plain std has no gradient.
            spread = (sets.var(dim=1, correction=0) + 1e-8).sqrt()
            score = score + repeat(self.spread(spread).squeeze(1), "b -> (b k)", k=set_size)
        return score


@DISCRIMINATORS.register("joint")
class JointDiscriminator(nn.Module):
    """D(x, z) = j([φ(x), ψ(z)]): a discriminator of joint pairs (BiGAN, Donahue et al., 2016; ALI).

    φ is the spectral-normalised residual trunk, ψ an MLP on the code, and j an MLP on both
    together, so the score can depend on any interaction of image and code (the projection
    critic's h(x)ᵀz sees only a bilinear one). `cond_dim == 0` leaves the image path alone.
    """

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        cond_dim: int,
        width: int = 64,
        depth: int = 1,
        code_width: int | None = None,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        code_width = code_width or width
        self.trunk = DownTrunk(image_shape=image_shape, width=width, depth=depth, spectral=spectral)
        self.cond_dim = cond_dim
        self.code = (
            nn.Sequential(sn(nn.Linear(cond_dim, code_width), spectral), nn.LeakyReLU(0.2),
                          sn(nn.Linear(code_width, code_width), spectral), nn.LeakyReLU(0.2))
            if cond_dim else None
        )
        joint_in = width + (code_width if cond_dim else 0)
        self.joint = nn.Sequential(sn(nn.Linear(joint_in, width), spectral), nn.LeakyReLU(0.2),
                                   sn(nn.Linear(width, 1), spectral))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> φ(x) [B, width]."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W], z [B, Z] -> score [B]."""
        h = self.trunk(x)
        if self.code is not None:
            h = torch.cat([h, self.code(z)], dim=1)
        return self.joint(h).squeeze(1)
