"""hbaezoo plugin: pooling by multihead attention (Set Transformer's PMA, Lee et al., 2019).

Installing this package registers `poolers.attention`; use it from gin with
`models.set_hbae.pooler = @poolers.attention`.
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from hbaezoo.errors import ConfigError
from hbaezoo.registry import POOLERS

__version__ = "0.1.0"


def usable_heads(dim: int, heads: int) -> int:
    """The largest divisor of `dim` that is <= `heads` (multihead attention splits dim evenly)."""
    return max(h for h in range(1, min(heads, dim) + 1) if dim % h == 0)


def _feed_forward(dim: int) -> nn.Sequential:
    """Row-wise feed-forward [..., F] -> [..., F]: it sees one element at a time, so order never matters."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))


@POOLERS.register("attention")
class AttentionPooler(nn.Module):
    """Pooling by multihead attention (Set Transformer's PMA): learned seeds attend over the set.

    PMA_k(Z) = MAB(S, rFF(Z)) with MAB(X, Y) = LN(H + rFF(H)), H = LN(X + Multihead(X, Y, Y)),
    where S holds `seeds` learned queries. There are no positional encodings, and the
    softmax-weighted sum over the elements does not depend on their order, so the output
    is permutation invariant.

    `heads` must divide `dim`; when it does not, the largest divisor of `dim` that is
    <= `heads` is used instead (dim 7 or 13 gives one head, dim 6 with heads=4 gives 3).
    The number actually used is `self.heads`.
    """

    def __init__(self, *, dim: int, heads: int = 4, seeds: int = 1) -> None:
        super().__init__()
        if heads < 1 or seeds < 1:
            raise ConfigError(
                f"poolers.attention: heads and seeds must be >= 1, got heads={heads}, seeds={seeds}. "
                f"Bind e.g. `poolers.attention.heads = 4`."
            )
        self.dim, self.heads, self.num_seeds = dim, usable_heads(dim, heads), seeds
        self.seeds = nn.Parameter(torch.empty(1, seeds, dim))
        nn.init.xavier_uniform_(self.seeds)
        self.element_ff = _feed_forward(dim)
        self.attention = nn.MultiheadAttention(dim, self.heads, batch_first=True)
        # LayerNorm over a single feature maps every input to its bias, erasing the set's content.
        self.norm_attended = nn.LayerNorm(dim) if dim > 1 else nn.Identity()
        self.output_ff = _feed_forward(dim)
        self.norm_out = nn.LayerNorm(dim) if dim > 1 else nn.Identity()
        # Concatenate-then-project keeps each seed's summary distinct; averaging would make them redundant.
        self.merge = nn.Linear(seeds * dim, dim) if seeds > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        elements = self.element_ff(x)  # [B, K, F]
        queries = repeat(self.seeds, "1 s f -> b s f", b=x.shape[0])  # [B, S, F]
        attended, _ = self.attention(queries, elements, elements, need_weights=False)  # [B, S, F]
        h = self.norm_attended(queries + attended)
        pooled = self.norm_out(h + self.output_ff(h))  # [B, S, F]
        return self.merge(rearrange(pooled, "b s f -> b (s f)"))  # [B, F]
