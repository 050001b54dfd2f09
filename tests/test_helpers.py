"""The project's one-idea helpers: atomic writes, scopes for global torch state, signatures."""

import os

import pytest
import torch

from hbaezoo.files import atomic_path, write_text_atomic
from hbaezoo.scopes import num_threads, seeded
from hbaezoo.signatures import parameters
from hbaezoo.rundir.restore import ema_state


def test_atomic_path_replaces_only_on_success_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.npy"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.suffix == ".npy" and tmp.parent == target.parent and tmp != target
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # nobody sees the new bytes before the block ends
    assert target.read_text() == "new"
    assert sorted(os.listdir(target.parent)) == ["out.npy"]


def test_seeded_is_reproducible_and_leaves_the_outer_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        a = torch.rand(2)
    with seeded(7):
        b = torch.rand(2)
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected)


def test_num_threads_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(ValueError):
        with num_threads(1):
            assert torch.get_num_threads() == 1
            raise ValueError
    assert torch.get_num_threads() == before


def test_parameters_of_classes_and_functions():
    class Part:
        def __init__(self, width, *args, depth=2, **kwargs):
            pass

    def f(a, b=3):
        pass

    assert list(parameters(Part)) == ["width", "depth"] and parameters(Part)["depth"] == 2
    assert parameters(f)["b"] == 3 and parameters(f)["a"] is parameters(Part)["width"]  # both "required"


def test_ema_state_reads_old_generator_only_checkpoints_as_the_generator_s():
    old = {"w": torch.ones(1)}
    assert list(ema_state(old, ("generator",))) == ["generator.w"]
    new = {"generator.w": torch.ones(1)}
    assert ema_state(new, ("generator",)) is new
    assert ema_state(old, ("generator", "encoder")) is old  # only the one-part layout had the old form
    assert ema_state(3, ("generator",)) == 3  # not a dict: left for check_compatible to reject
