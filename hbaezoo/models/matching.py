"""Matched R: a set of K views against M ≥ K draws of its code, each view paired with draws by pixel L1.

A set's views differ, and one image G(0|z) can only be their average (a blob of the right colour);
pairing lets each draw become one view of the object (models/hbae.py, `regulariser_match`). Three
pairings (`matching`):

  nearest     both ways (a Chamfer distance): each view against its nearest draw, each draw
              against its nearest view; several draws may copy one view.
  assignment  one to one, the pairing of least total cost (the Hungarian algorithm, scipy's
              linear_sum_assignment), so K of the M draws must become K different views.
  covering    each view against its nearest draw only (implicit maximum likelihood estimation,
              Li & Malik, 2019): the other draws are free of R, so the noise z' need not be
              ignored for the nearest draw to hold the view's shape.

The pairing carries no gradient; the distance between paired images does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def pick(sets: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """sets [B, N, C, H, W], index [B, J] -> the picked elements [B·J, C, H, W]."""
    index = index[:, :, None, None, None].expand(-1, -1, *sets.shape[2:])
    return torch.gather(sets, 1, index).flatten(0, 1)


def assignment(cost: torch.Tensor) -> torch.Tensor:
    """The one-to-one pairing of least total cost per set: cost [B, K, M ≥ K] -> draw of each element [B, K]."""
    from scipy.optimize import linear_sum_assignment

    pairs = [linear_sum_assignment(c)[1] for c in cost.detach().cpu().numpy()]
    return torch.as_tensor(np.stack(pairs), device=cost.device, dtype=torch.long)


def covering(distance: Distance, x: torch.Tensor, draws: torch.Tensor, cost: torch.Tensor) -> torch.Tensor:
    return distance(x.flatten(0, 1), pick(draws, cost.argmin(2)))


def both_ways(distance: Distance, x: torch.Tensor, draws: torch.Tensor, cost: torch.Tensor) -> torch.Tensor:
    faithful = distance(pick(x, cost.argmin(1)), draws.flatten(0, 1))
    return 0.5 * (covering(distance, x, draws, cost) + faithful)


def one_to_one(distance: Distance, x: torch.Tensor, draws: torch.Tensor, cost: torch.Tensor) -> torch.Tensor:
    return distance(x.flatten(0, 1), pick(draws, assignment(cost)))


PAIRINGS = {"nearest": both_ways, "assignment": one_to_one, "covering": covering}
#: The pairings `matching` may name.
MATCHINGS = tuple(PAIRINGS)


def matched_distance(distance: Distance, x: torch.Tensor, draws: torch.Tensor, matching: str) -> torch.Tensor:
    """`distance` (R) between sets x [B, K, C, H, W] and draws [B, M, C, H, W] of their codes, paired by `matching`."""
    with torch.no_grad():
        cost = torch.cdist(x.flatten(2).float(), draws.flatten(2).float(), p=1)  # [B, K elements, M draws]
    return PAIRINGS[matching](distance, x, draws, cost)
