"""A checkpoint's optimizer state is checked against the optimizer it will load into, entry by entry."""

import copy
from pathlib import Path

import pytest
import torch

from hbaezoo.errors import CheckpointError
from hbaezoo.training.state_checks import check_optimizer, kept_entries


def stepped_adam():
    params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2, 2))]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    sum(p.sum() for p in params).backward()
    optimizer.step()
    return optimizer


def test_adam_keeps_step_and_both_moments():
    assert kept_entries(stepped_adam()) == {"step", "exp_avg", "exp_avg_sq"}


def test_a_saved_state_loads_back_unchanged():
    optimizer = stepped_adam()
    check_optimizer(optimizer, optimizer.state_dict(), Path("state.json"), "state.optimizers.critic")


@pytest.mark.parametrize("renamed", [[0], [1], [0, 1]])
def test_a_renamed_entry_names_the_parameter_and_what_the_optimizer_keeps(renamed):
    optimizer = stepped_adam()
    state = copy.deepcopy(optimizer.state_dict())
    for index in renamed:  # renamed in every parameter too: the optimizer's kind, not the others, decides
        state["state"][index]["steps"] = state["state"][index].pop("step")
    with pytest.raises(CheckpointError, match=rf"state\.optimizers\.critic\.state\.{renamed[0]}.*the Adam optimizer keeps"):
        check_optimizer(torch.optim.Adam(optimizer.param_groups[0]["params"], lr=1e-2), state, Path("state.json"),
                        "state.optimizers.critic")
