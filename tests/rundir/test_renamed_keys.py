"""A checkpoint written before a model part was renamed still loads into the model as it is now."""

import pytest
import torch

from hbaezoo.errors import CheckpointError
from hbaezoo.registry import MODELS, PRIORS
from hbaezoo.rundir.restore import RENAMED, Checkpoint
from hbaezoo.testing import Sizes, tiny_model

VIEWS = {"regulariser_views": 1.0, "regulariser_match": 0.0, "regulariser_trains": ("encoder",),
         "noise_prior": PRIORS.get("gmm")}


def _views_model(seed: int):
    torch.manual_seed(seed)
    return tiny_model(MODELS.get("set_hbae"), Sizes(), **VIEWS)


def _as_written_before(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    old = {new: old for old, new in RENAMED.items()}
    out = {}
    for key, value in state.items():
        prefix = next((p for p in old if key.startswith(p)), None)
        out[old[prefix] + key[len(prefix):] if prefix else key] = value
    return out


def test_views_saved_under_their_old_names_load_into_the_views_module(tmp_path):
    model = _views_model(0)
    with torch.no_grad():
        model.views.noise_prior.fit(torch.randn(64, model.noise_dim))
    saved = _as_written_before(model.state_dict())
    assert "view_head.weight" in saved and not any(key.startswith("views.") for key in saved)
    twin = _views_model(1)
    assert not torch.equal(twin.views.head.weight, model.views.head.weight)
    Checkpoint(step=1, model_state=saved, state={}, folder=tmp_path).restore(twin)
    for key, value in model.state_dict().items():
        assert torch.equal(twin.state_dict()[key], value), key


def test_a_key_the_model_does_not_have_under_either_name_is_still_refused(tmp_path):
    model = _views_model(0)
    saved = _as_written_before(model.state_dict())
    saved["view_head.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="view_head.extra"):
        Checkpoint(step=1, model_state=saved, state={}, folder=tmp_path).restore(_views_model(1))
