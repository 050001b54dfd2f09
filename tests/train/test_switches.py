"""Trainer switches work end to end: bf16 autocast, channels_last, EMA of the generator, schedules."""

import os

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from hbaezoo.data.base import TensorImageDataset
from hbaezoo.errors import ConfigError
from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model
from hbaezoo.training import trainer as trainer_module
from hbaezoo.training.trainer import Trainer
from hbaezoo.api import fit
from hbaezoo.rundir.loading import load as load_run
from hbaezoo.sampling import sample_to_file
from hbaezoo.rundir.checkpoints import checkpoints, load

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECIPE = os.path.join(REPO, "gin", "hbae_shapes.gin")


def test_bf16_autocast_and_channels_last_train_finite(tiny, tmp_path):
    _, logs = fit([RECIPE], [*tiny, "Trainer.amp = 'bf16'", "Trainer.channels_last = True"],
                 run_dir=tmp_path, overrides={"steps": 2})
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_device_that_emulates_it_is_warned_about(native, tmp_path, monkeypatch):
    # The README job's recipe asks for bf16; on a machine that only emulates it the user must hear it will be slow.
    monkeypatch.setattr(trainer_module, "fast_bf16", lambda device: native)
    said = []
    monkeypatch.setattr(Trainer, "_warn", lambda self, message: said.append(message))
    data = TensorImageDataset(torch.randint(0, 255, (8, 3, 8, 8), dtype=torch.uint8), torch.zeros(8), torch.arange(8), ())
    Trainer(tiny_model(MODELS.get("vae"), Sizes(resolution=8)), data, tmp_path, steps=1, batch_size=4, amp="bf16",
            device="cpu", progress=False, tensorboard=False)
    warned = [m for m in said if "no native bf16" in m]
    assert bool(warned) == (not native)
    assert all("Trainer.amp = None" in m for m in warned)


def test_ema_generator_is_saved_and_used_for_sampling(tiny, tmp_path):
    fit([RECIPE], [*tiny, "Trainer.ema_decay = 0.5"], run_dir=tmp_path, overrides={"steps": 3})
    _, model_state, state = load(checkpoints(tmp_path / "checkpoints")[-1])
    ema = {k[len("generator."):]: v for k, v in state["ema"].items()}
    raw = {k[len("generator."):]: v for k, v in model_state.items() if k.startswith("generator.")}
    assert state["ema"].keys() == {f"generator.{k}" for k in raw}  # the parts the model names, model-keyed
    assert any(not torch.equal(ema[k], raw[k]) for k in ema if ema[k].is_floating_point())
    model = load_run(tmp_path, device="cpu").model
    assert all(torch.equal(v, ema[k]) for k, v in model.generator.state_dict().items())
    model = load_run(tmp_path, device="cpu", use_ema=False).model
    assert all(torch.equal(v, raw[k]) for k, v in model.generator.state_dict().items())


def test_linear_decay_schedule_reaches_zero(tiny, tmp_path):
    fit([RECIPE], [*tiny, "Trainer.schedule = @schedules.linear_decay"], run_dir=tmp_path, overrides={"steps": 4})
    import json

    last = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["critic/lr"] == 0.0 and last["generator/lr"] == 0.0


def test_sample_grids_have_the_documented_layout(tiny, tmp_path):
    fit([RECIPE], tiny, run_dir=tmp_path / "run", overrides={"steps": 1})
    cell = 16 + 2  # 16-px images with 2-px borders
    expected = {"recon": (3, 1 + 4), "uncond": (3, 4), "markov": (3, 1 + 2)}
    for mode, (cols, rows) in expected.items():
        out = sample_to_file(tmp_path / "run", mode, tmp_path / f"{mode}.png", n=3, steps=2, device="cpu")
        assert Image.open(out).size == (cols * cell + 2, rows * cell + 2), mode
    model_weights = load_file(checkpoints(tmp_path / "run" / "checkpoints")[-1] / "model.safetensors")
    assert any(k.startswith("encoder.") for k in model_weights)


def test_sample_temperature_draws_codes_near_the_fitted_components_and_only_where_codes_are_drawn(
        tiny, tmp_path, monkeypatch):
    from hbaezoo import sampling
    from hbaezoo.components.priors import GaussianMixturePrior

    fit([RECIPE], tiny, run_dir=tmp_path / "run", overrides={"steps": 1})
    loaded, load_run_dir = [], sampling.load
    monkeypatch.setattr(sampling, "load", lambda *a, **k: loaded.append(load_run_dir(*a, **k)) or loaded[-1])
    drawn_at, draw = [], GaussianMixturePrior.sample
    monkeypatch.setattr(GaussianMixturePrior, "sample", lambda self, n: drawn_at.append(self.temperature) or draw(self, n))

    def distance_to_components(temperature, mode="uncond"):
        drawn_at.clear()
        sample_to_file(tmp_path / "run", mode, tmp_path / "u.png", n=4, device="cpu", temperature=temperature)
        assert drawn_at == [temperature], mode  # the grid's codes were drawn at the flag's temperature
        prior = loaded[-1].model.sampling_prior
        assert prior.temperature == 1.0  # ... and the prior's own setting came back after the grid
        prior.temperature = temperature
        codes, means = prior.sample(256), prior.means[prior.weights > 0]
        return (codes[:, None] - means[None]).norm(dim=-1).min(1).values  # exact, where cdist rounds at ~1e-3

    # Near 0 every code drawn sits on a component's mean; at 1 they spread as the training codes did.
    assert distance_to_components(1e-3).max() < 0.01 * distance_to_components(1.0).mean()
    assert distance_to_components(1e-3, "set_uncond").max() < 0.01 * distance_to_components(1.0, "set_uncond").mean()
    with pytest.raises(ConfigError, match="reads its codes off test images"):
        sample_to_file(tmp_path / "run", "recon", tmp_path / "r.png", n=2, device="cpu", temperature=0.5)
    for bad in (0, -1.0, float("inf"), float("nan"), True, "0.5"):
        with pytest.raises(ConfigError, match="--temperature"):
            sample_to_file(tmp_path / "run", "uncond", tmp_path / "u.png", n=2, device="cpu", temperature=bad)
    with pytest.raises(ConfigError, match="priors.gmm.temperature"):  # from Python too, however it is set
        loaded[-1].model.sampling_prior.temperature = -1.0


def test_set_completion_keeps_the_given_views_and_generates_the_rest(repo_root, tiny, tmp_path):
    from hbaezoo.registry import MODELS, SAMPLERS
    from hbaezoo.testing import Sizes, tiny_model

    sizes = Sizes()
    model = tiny_model(MODELS.get("set_hbae"), sizes).eval()
    x = torch.rand(2, 5, *sizes.image_shape) * 2 - 1
    grid = SAMPLERS.get("set_complete")(given=2)(model, x, n=2, steps=1)
    assert grid.shape == (4, 5, *sizes.image_shape)
    assert torch.equal(grid[0], x[0]) and torch.equal(grid[2], x[1])  # the real sets
    assert torch.equal(grid[1, :2], x[0, :2]) and not torch.equal(grid[1, 2:], x[0, 2:])
    with torch.no_grad(), torch.random.fork_rng():  # completions come from the given views' code alone
        torch.manual_seed(0)
        a = SAMPLERS.get("set_complete")(given=2)(model, x, n=2, steps=1)
        torch.manual_seed(0)
        b = SAMPLERS.get("set_complete")(given=2)(model, torch.cat([x[:, :2], -x[:, 2:]], 1), n=2, steps=1)
    assert torch.equal(a[1], b[1])
    with pytest.raises(ConfigError, match="--given 5"):
        SAMPLERS.get("set_complete")(given=5)(model, x, n=2, steps=1)

    recipe = os.path.join(repo_root, "gin/set_hbae_shapes.gin")
    fit([recipe], tiny, run_dir=tmp_path / "run", overrides={"steps": 1})
    out = sample_to_file(tmp_path / "run", "set_complete", tmp_path / "c.png", n=2, device="cpu", given=3)
    assert Image.open(out).size[1] == 4 * 18 + 2  # two sets, each a real row and a completed row
    with pytest.raises(ConfigError, match="--given applies to the set-complete mode"):
        sample_to_file(tmp_path / "run", "recon", tmp_path / "r.png", n=2, device="cpu", given=3)
