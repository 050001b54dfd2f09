"""What every metric receives: `metric(ctx: EvalContext) -> dict[str, float]`.

The context holds the trained model, access to the run's data (held-out "test" split and
"train" split), the sample count `n`, seed, device and feature extractor, and memoises what
several metrics share (the reference features, one reconstruction per test image, samples),
so `fid_recon` and `recon_mse` reconstruct and extract once. Everything random a metric
asks the context for is drawn under its own seed, so results do not depend on metric order.

Images travel as uint8 [N, C, H, W] (model outputs quantised as a saved PNG would be).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hbaezoo.data.base import ImageDataset, to_float, to_uint8
from hbaezoo.data.batches import BatchPlan
from hbaezoo.errors import CapabilityError
from hbaezoo.eval import extractors as ext
from hbaezoo.eval.features import cached_features, extract_features, progress_bar
from hbaezoo.models.base import Model
from hbaezoo.scopes import seeded


def check_kwargs(**kwargs):
    """Decorator (below @METRICS.register): the small parameters hbaezoo.testing.check_metric uses."""

    def decorate(fn):
        fn.TEST_KWARGS = kwargs
        return fn

    return decorate


@dataclass
class EvalContext:
    """A trained model and its run's data, as metrics see them."""

    model: Model
    dataset_factory: Callable[..., ImageDataset]
    data: dict
    n: int = 1000
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    extractor_name: str | ext.FeatureExtractor = "auto"  # a registered name, "auto", or a built extractor
    set_size: int = 8
    batch_size: int = 64
    cache_dir: Path | None = None  # feature cache for real data; None: no caching
    build_untrained: Callable[[int], Model] | None = None  # same architecture, fresh init from a seed
    progress: bool = True
    info: dict[str, str] = field(default_factory=dict)  # notes written to results.json (e.g. LPIPS backbone)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- shared, memoised ------------------------------------------------------------------------
    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """compute() once per context, under a seed derived from (ctx.seed, key)."""
        if key not in self._memo:
            with self.seeded(key):
                self._memo[key] = compute()
        return self._memo[key]

    def seeded(self, key: str):
        """A torch RNG block seeded by (ctx.seed, key); the global RNG state is restored after."""
        return seeded((self.seed * 1_000_003 + zlib.crc32(key.encode())) % (2**63), self.device)

    def generator(self, *keys) -> torch.Generator:
        """A CPU generator for data selection, seeded by (ctx.seed, keys)."""
        text = "|".join(str(k) for k in (self.seed, *keys))
        return torch.Generator().manual_seed(zlib.crc32(text.encode()))

    @property
    def extractor(self) -> ext.FeatureExtractor:
        if isinstance(self.extractor_name, ext.FeatureExtractor):
            return self.memo("extractor", lambda: self.extractor_name.to(self.device).eval())
        return self.memo("extractor", lambda: ext.build(self.extractor_name, self.device))

    @property
    def extractor_choice(self) -> str:
        """The registered name `extractor_name` stands for (cheap: nothing is loaded)."""
        if isinstance(self.extractor_name, ext.FeatureExtractor):
            return self.extractor_name.name
        return ext.choose(self.extractor_name)

    # -- data ------------------------------------------------------------------------------------
    def dataset(self, split: str) -> ImageDataset:
        return self.memo(f"dataset/{split}", lambda: self.dataset_factory(split=split))

    def labels(self, split: str) -> torch.Tensor:
        return self.dataset(split).labels

    def num_classes(self) -> int:
        return int(self.data.get("num_classes") or 0)

    def require_labels(self, what: str) -> int:
        k = self.num_classes()
        if k < 2:
            raise CapabilityError(f"{what} needs a dataset with class labels (this run's data has {k} classes).")
        return k

    def load(self, split: str, indices: torch.Tensor) -> torch.Tensor:
        """uint8 images [len(indices), C, H, W] of a split (decoded on demand for folder datasets)."""
        dataset = self.dataset(split)
        indices = torch.as_tensor(indices, dtype=torch.long).flatten()
        if dataset.images is not None:
            return dataset.images[indices]
        out = torch.empty((len(indices), *dataset.image_shape), dtype=torch.uint8)
        with progress_bar(self.progress and len(indices) > 256) as bar:
            task = bar.add_task(f"loading {split} images", total=len(indices))
            for row, i in enumerate(indices.tolist()):
                out[row] = to_uint8(dataset[i][0])
                bar.advance(task)
        return out

    def subset(self, split: str, n: int | None = None, key: str = "images") -> torch.Tensor:
        """min(n, size) distinct indices of a split, in a seeded random order."""
        size = len(self.dataset(split))
        return torch.randperm(size, generator=self.generator(split, key))[: size if n is None else min(n, size)]

    def set_indices(self, split: str, n: int, k: int, *, distinct: bool = True, key: str = "sets") -> torch.Tensor:
        """[m, k] indices: sets of k members of one group each (the training batch plan's way).

        distinct: at most one set per group (m = min(n, groups)); otherwise n sets, groups reused
        with fresh members once every group was drawn.
        """
        groups = self.dataset(split).group_ids
        m = min(n, int(groups.unique().numel())) if distinct else n
        plan = BatchPlan(groups, batch_size=m, set_size=k, seed=zlib.crc32(f"{self.seed}|{split}|{key}".encode()))
        return plan.indices(0)

    def real_index(self) -> torch.Tensor:
        """Which test images form the reference: min(n, test size) of them, in a seeded order."""
        return self.memo("real_index", lambda: self.subset("test", self.n))

    def real_images(self) -> torch.Tensor:
        """The held-out reference: min(n, test size) test images, uint8 [N, C, H, W]."""
        return self.memo("real", lambda: self.load("test", self.real_index()))

    def real_features(self, split: str, index: torch.Tensor, description: str) -> np.ndarray:
        """Extractor features of real images of a split (through the on-disk cache)."""
        return cached_features(self.extractor, self.load(split, index), cache_dir=self.cache_dir,
                               batch_size=self.batch_size, description=description, progress=self.progress,
                               note={"split": split})[0]

    def reference_features(self) -> np.ndarray:
        """Extractor features of `real_images()`, from the on-disk cache when present."""

        def compute():
            feats, hit = cached_features(
                self.extractor, self.real_images(), cache_dir=self.cache_dir, batch_size=self.batch_size,
                description="test images", progress=self.progress,
                note={"data": {k: v for k, v in self.data.items() if k != "class_names"}, "split": "test", "seed": self.seed},
            )
            self.info["reference_features"] = "from cache" if hit else ("computed and cached" if self.cache_dir else "computed")
            return feats

        return self.memo(f"features/real/{self.extractor_choice}", compute)

    def features(self, key: str, images: torch.Tensor) -> np.ndarray:
        """Extractor features of model outputs (memoised per key, never cached on disk)."""
        return self.memo(f"features/{key}/{self.extractor_choice}", lambda: extract_features(
            self.extractor, images, batch_size=self.batch_size, description=key, progress=self.progress))

    # -- model outputs ---------------------------------------------------------------------------
    def batched(self, description: str, total: int, fn: Callable[[int, int], torch.Tensor]) -> torch.Tensor:
        """Concatenate fn(start, size) over batches of `batch_size`, model outputs quantised to uint8."""
        parts = []
        with torch.no_grad(), progress_bar(self.progress) as bar:
            task = bar.add_task(description, total=total)
            for start in range(0, total, self.batch_size):
                size = min(self.batch_size, total - start)
                parts.append(to_uint8(fn(start, size)).cpu())
                bar.advance(task, size)
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.uint8)

    def to_model(self, images: torch.Tensor) -> torch.Tensor:
        return to_float(images.to(self.device))

    def reconstructions(self) -> torch.Tensor:
        """One stochastic reconstruction of each `real_images()` image, uint8 [N, C, H, W]."""
        real = self.real_images()
        return self.memo("recon", lambda: self.batched(
            "reconstructing", len(real), lambda s, b: self.model.reconstruct(self.to_model(real[s:s + b]), 1)[0]))

    def samples(self) -> torch.Tensor:
        """n unconditional samples (one per prior code), uint8 [n, C, H, W]."""
        return self.memo("samples", lambda: self.batched(
            "sampling", self.n, lambda s, b: self.model.sample(b, 1)[0]))
