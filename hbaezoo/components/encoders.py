"""Encoders: image [B, C, H, W] in [-1, 1] -> features [B, F]; `feature_dim` is F."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from hbaezoo.errors import ConfigError
from hbaezoo.nn.blocks import DownTrunk
from hbaezoo.registry import ENCODERS


@ENCODERS.register("resnet")
class ResNetEncoder(nn.Module):
    """Residual blocks with spectral norm down to 4x4, then ReLU and sum-pooling (paper Fig. 3)."""

    def __init__(
        self, *, image_shape: tuple[int, int, int], width: int = 64, depth: int = 1, spectral: bool = True
    ) -> None:
        super().__init__()
        self.trunk = DownTrunk(image_shape=image_shape, width=width, depth=depth, spectral=spectral)
        self.feature_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, width]."""
        return self.trunk(x)


@ENCODERS.register("timm")
class TimmEncoder(nn.Module):
    """Any timm backbone as an encoder (random init unless `checkpoint` points at weights on disk)."""

    TEST_KWARGS = {"model_name": "resnet10t"}

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        model_name: str = "resnet18",
        checkpoint: str | None = None,
        **timm_kwargs,
    ) -> None:
        super().__init__()
        import timm

        if not timm.is_model(model_name):
            from hbaezoo.registry import suggest

            raise ConfigError(
                f"encoders.timm.model_name: timm has no model '{model_name}'."
                f"{suggest(model_name, timm.list_models())} `timm.list_models('*name*')` lists them."
            )
        if checkpoint is not None and not Path(checkpoint).is_file():
            raise ConfigError(
                f"encoders.timm.checkpoint: no file at {checkpoint}. Download the weights of "
                f"'{model_name}' yourself (hbaezoo never downloads) and point this binding at them."
            )
        self.backbone = timm.create_model(
            model_name,
            pretrained=checkpoint is not None,
            pretrained_cfg_overlay=dict(file=checkpoint) if checkpoint else None,
            num_classes=0,
            in_chans=image_shape[0],
            **timm_kwargs,
        )
        self.feature_dim = self.backbone.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, num_features]."""
        return self.backbone(x)
