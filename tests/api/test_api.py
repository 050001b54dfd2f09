"""The Python API (docs/api.md): hbaezoo.train / load / build, batch-first methods, input checks,
plugins recorded with a run, and the example in examples/ run as written."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import hbaezoo
from hbaezoo.errors import CapabilityError, ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "gin" / "hbae_shapes.gin"
TINY = ["datasets.shapes.resolution = 16", "datasets.shapes.objects_per_category = 2", "datasets.shapes.views = 4",
        "encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
        "Trainer.batch_size = 4", "Trainer.progress = False", "Trainer.tensorboard = False",
        "Trainer.estimate_images = 16"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
       "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("api") / "run"
    run = hbaezoo.train(RECIPE, TINY, run_dir=run_dir, steps=2, device="cpu")
    return run, run_dir


def test_the_api_is_in_all_and_import_is_lazy():
    assert {"load", "train", "build", "Run"} <= set(hbaezoo.__all__)
    probe = "import sys, hbaezoo; print('torch' in sys.modules, 'hbaezoo.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_train_returns_the_loaded_run_and_load_gives_the_same_weights(trained):
    run, run_dir = trained
    assert run.step == 2 and run.logs and "critic/loss" in run.logs
    assert "run.model = @models.hbae" in run.config and run.image_shape == (3, 16, 16)
    again = hbaezoo.load(run_dir, device="cpu")
    assert again.step == 2 and not again.model.training
    for (name, a), (_, b) in zip(run.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_methods_are_batch_first_with_documented_shapes(trained):
    run, _ = trained
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    z = run.model.encode(x).mean.shape[1]
    assert run.encode(x).shape == (5, z)
    assert run.reconstruct(x, k=3).shape == (5, 3, 3, 16, 16)
    assert run.sample(7).shape == (7, 3, 16, 16)
    assert run.sample_sets(2, 4).shape == (2, 4, 3, 16, 16)
    assert run.markov(x, steps=2).shape == (5, 3, 3, 16, 16)
    assert run.reconstruct_sets(torch.rand(2, 4, 3, 16, 16), k=3).shape == (2, 3, 3, 16, 16)
    assert torch.allclose(run.encode(x)[1:2], run.encode(x[1:2]), atol=1e-5)
    assert torch.equal(run.sample(3, seed=1), run.sample(3, seed=1))


class _Marked(torch.nn.Module):
    """A model whose outputs say which input (b) and which draw or link (d) they are: value 10·b + d."""

    def __init__(self):
        super().__init__()
        self.device = torch.device("cpu")

    def _grid(self, draws, batch):
        d, b = torch.meshgrid(torch.arange(draws), torch.arange(batch), indexing="ij")
        return (10 * b + d).float()[..., None, None, None].expand(draws, batch, 3, 16, 16)

    def reconstruct(self, x, n):          # the model's own layout: [n, B, C, H, W]
        return self._grid(n, len(x))

    def markov_chain(self, x, steps):     # [steps + 1, B, C, H, W]
        return self._grid(steps + 1, len(x))

    def sample(self, n, per_code):        # [per_code, n, C, H, W]
        return self._grid(per_code, n)


def test_outputs_are_indexed_by_input_first_then_draw():
    from hbaezoo.inference import Run
    from hbaezoo.rundir.layout import RunDir
    from hbaezoo.rundir.loading import LoadedRun

    run = Run(LoadedRun(model=_Marked(), data={"image_shape": [3, 16, 16]}, dataset_factory=None, step=0,
                        run_dir=RunDir("x"), config=""))
    x = torch.zeros(4, 3, 16, 16)
    for out in (run.reconstruct(x, k=3), run.markov(x, steps=2)):
        assert out.shape == (4, 3, 3, 16, 16)
        assert all(out[b, d, 0, 0, 0] == 10 * b + d for b in range(4) for d in range(3))
    assert run.sample(5)[:, 0, 0, 0].tolist() == [0, 10, 20, 30, 40]


def test_uint8_float_and_pil_inputs_give_the_same_codes(trained):
    run, _ = trained
    pixels = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    as_float = pixels.float() / 127.5 - 1
    pil = [Image.fromarray(p.permute(1, 2, 0).numpy()) for p in pixels]
    codes = run.encode(as_float)
    assert torch.allclose(run.encode(pixels), codes, atol=1e-5)
    assert torch.allclose(run.encode(pil), codes, atol=1e-5)
    assert torch.allclose(run.encode(pil[0]), codes[:1], atol=1e-5)
    assert torch.allclose(run.encode(np.asarray(pixels)), codes, atol=1e-5)
    images = run.to_pil(run.sample(2))
    assert len(images) == 2 and images[0].size == (16, 16)


@pytest.mark.parametrize("bad, says", [
    (torch.zeros(2, 3, 32, 32), "3×32×32 (C×H×W) but this run's model was trained on 3×16×16"),
    (torch.zeros(2, 1, 16, 16), "trained on 3×16×16"),
    (torch.full((2, 3, 16, 16), 2.0), "must lie in [-1, 1]"),
    (torch.zeros(2, 2, 3, 16, 16), "expected a tensor [B, C, H, W]"),
    ("pictures/", "expected a PIL image"),
])
def test_bad_images_are_refused_saying_what_and_what_to_do(trained, bad, says):
    run, _ = trained
    with pytest.raises(DataError) as info:
        run.encode(bad)
    assert says in str(info.value) and "encode(images)" in str(info.value)


def test_counts_are_checked(trained):
    run, _ = trained
    with pytest.raises(ConfigError, match="n must be a whole number >= 1"):
        run.sample(0)


def test_train_resumes_like_the_cli_and_refuses_another_config(trained, tmp_path):
    run_dir = tmp_path / "run"
    first = hbaezoo.train(RECIPE, TINY, run_dir=run_dir, steps=1, device="cpu")
    assert first.step == 1 and (run_dir / "config.gin").is_file()
    assert hbaezoo.train(RECIPE, TINY, run_dir=run_dir, steps=2, device="cpu").step == 2
    with pytest.raises(ConfigError, match="different config"):
        hbaezoo.train(RECIPE, [*TINY, "models.hbae.beta = 3.0"], run_dir=run_dir, steps=3)
    with pytest.raises(ConfigError, match="list of strings"):
        hbaezoo.train(RECIPE, "Trainer.steps = 2", run_dir=run_dir)


def test_build_gives_an_untrained_model_and_its_dataset():
    model, dataset = hbaezoo.build(RECIPE, TINY)
    assert dataset.image_shape == (3, 16, 16) and model.training
    again, _ = hbaezoo.build(RECIPE, TINY)  # seeded by Trainer.seed: the same initial weights
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_a_trainer_used_directly_writes_a_run_that_loads(tmp_path):
    from hbaezoo.training.trainer import Trainer

    model, dataset = hbaezoo.build(REPO / "gin" / "set_hbae_shapes.gin", [*TINY, "Trainer.set_size = 2"])
    Trainer(model, dataset, tmp_path / "run", steps=2, device="cpu").fit()  # a folder that does not exist yet
    run = hbaezoo.load(tmp_path / "run", device="cpu", use_ema=False)
    assert run.step == 2 and "run.model = @models.set_hbae" in run.config
    assert run.data["image_shape"] == [3, 16, 16] and run.data["set_size"] == 2
    trained = model.state_dict()
    for name, value in run.model.state_dict().items():
        assert torch.equal(value, trained[name].cpu()), name
    assert run.sample_sets(2, 3).shape == (2, 3, 3, 16, 16)
    assert (tmp_path / "run" / "operative.gin").is_file()


def test_a_trainer_given_a_model_no_recipe_built_says_why_its_run_does_not_load(tmp_path):
    import gin

    from hbaezoo.errors import CheckpointError
    from hbaezoo.training.trainer import Trainer

    model, dataset = hbaezoo.build(RECIPE, TINY)
    gin.clear_config()  # as for a model assembled by hand: gin holds no recipe that built it
    Trainer(model, dataset, tmp_path / "run", steps=1, batch_size=4, device="cpu", progress=False,
            tensorboard=False, estimate_images=16).fit()
    assert (tmp_path / "run" / "data.json").is_file() and not (tmp_path / "run" / "config.gin").exists()
    with pytest.raises(CheckpointError, match=r"no config.gin.*hbaezoo.build\(recipe, bindings\)"):
        hbaezoo.load(tmp_path / "run", device="cpu")


def test_a_trainer_never_records_a_recipe_parsed_after_its_model_was_built(tmp_path):
    """build(A), then parse B (e.g. load another run to compare), then train A's model: no config.gin
    from B, which would load another model or the wrong prior and data."""
    from hbaezoo.training.trainer import Trainer

    model, dataset = hbaezoo.build(RECIPE, TINY)
    hbaezoo.build(RECIPE, [*TINY, "Trainer.seed = 3"])  # gin now holds another recipe text
    Trainer(model, dataset, tmp_path / "run", steps=1, batch_size=4, device="cpu", progress=False,
            tensorboard=False, estimate_images=16).fit()
    assert not (tmp_path / "run" / "config.gin").exists()


def test_a_gan_says_what_it_cannot_do(tmp_path):
    run = hbaezoo.train(REPO / "gin" / "gan_shapes.gin", [*TINY, "Trainer.ema_decay = None"], run_dir=tmp_path / "gan",
                        steps=1, device="cpu")
    assert run.sample(2).shape == (2, 3, 16, 16)
    with pytest.raises(CapabilityError):
        run.encode(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ConfigError, match="fitted to the training codes"):
        run.sample(2, temperature=0.5)


def test_sample_temperature_draws_at_it_and_leaves_the_prior_as_it_was(trained, monkeypatch):
    from hbaezoo.components.priors import GaussianMixturePrior

    run, _ = trained
    drawn_at, draw = [], GaussianMixturePrior.sample
    monkeypatch.setattr(GaussianMixturePrior, "sample", lambda self, n: drawn_at.append(self.temperature) or draw(self, n))
    assert run.sample(2, temperature=0.5).shape == (2, 3, 16, 16)
    assert run.sample_sets(2, 3, temperature=0.25).shape == (2, 3, 3, 16, 16)
    assert run.sample(2).shape == (2, 3, 16, 16)
    assert drawn_at == [0.5, 0.25, 1.0]
    assert run.model.sampling_prior.temperature == 1.0
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ConfigError, match="temperature"):
            run.sample(2, temperature=bad)


PLUGIN = '''
import torch
from hbaezoo.registry import POOLERS

@POOLERS.register("{name}")
class Max(torch.nn.Module):
    def __init__(self, *, dim):
        super().__init__()

    def forward(self, x):
        return x.max(dim=1).values
'''


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**ENV, "PYTHONPATH": os.pathsep.join([str(cwd), ENV["PYTHONPATH"]])}, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_a_local_plugin_the_run_recorded_loads_with_trust_and_is_named_without(tmp_path):
    name = f"api_plugin_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(PLUGIN.format(name=name))
    run_dir = tmp_path / "run"
    train = f"""
        import hbaezoo
        hbaezoo.train({str(RECIPE)!r}, {[*TINY, f"models.hbae.pooler = @poolers.{name}"]!r}, run_dir={str(run_dir)!r},
                      steps=1, plugins=[{name!r}], device="cpu")
    """
    assert _python(train, tmp_path).returncode == 0
    assert json.loads((run_dir / "data.json").read_text())["plugins"] == [name]
    refused = _python(f"import hbaezoo; hbaezoo.load({str(run_dir)!r})", tmp_path)
    assert refused.returncode != 0 and f"--plugin {name}" in refused.stderr and "--trust-config" in refused.stderr
    loaded = _python(f"import hbaezoo; print(type(hbaezoo.load({str(run_dir)!r}, trust_config=True).model.pooler).__name__)",
                     tmp_path)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "Max", loaded.stderr
    cli = subprocess.run([sys.executable, "-m", "hbaezoo", "sample", str(run_dir), "--mode", "uncond", "--n", "2",
                          "--out", str(tmp_path / "grid.png"), "--trust-config"], capture_output=True, text=True,
                         env={**ENV, "PYTHONPATH": os.pathsep.join([str(tmp_path), ENV["PYTHONPATH"]])}, cwd=tmp_path,
                         timeout=600)
    assert cli.returncode == 0 and (tmp_path / "grid.png").is_file(), cli.stderr


@pytest.mark.slow
def test_an_installed_plugin_the_run_recorded_loads_even_with_autoloading_off(tmp_path):
    from importlib.metadata import entry_points

    if "hbaezoo_set_attention" not in {ep.module for ep in entry_points(group="hbaezoo.plugins")}:
        pytest.skip("the example plugin (plugins/hbaezoo-set-attention) is not installed")
    hbaezoo.load_plugins()  # as `hbaezoo run` does: installed plugins load
    run_dir = tmp_path / "run"
    hbaezoo.train(RECIPE, [*TINY, "models.hbae.pooler = @poolers.attention"], run_dir=run_dir, steps=1, device="cpu")
    assert "hbaezoo_set_attention" in json.loads((run_dir / "data.json").read_text())["plugins"]
    loaded = _python(f"import hbaezoo; print(type(hbaezoo.load({str(run_dir)!r}).model.pooler).__name__)", tmp_path)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "AttentionPooler", loaded.stderr


@pytest.mark.slow
def test_sample_and_report_start_without_the_evaluation_stack(trained, tmp_path):
    _, run_dir = trained
    probe = f"""
        import sys, contextlib, io
        from hbaezoo.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["sample", {str(run_dir)!r}, "--mode", "uncond", "--n", "2", "--out", {str(tmp_path / 'g.png')!r}]) == 0
            assert main(["report", {str(run_dir)!r}, "--out", {str(tmp_path / 'r.html')!r}]) == 0
        print("hbaezoo.eval.parts" in sys.modules, "sklearn" in sys.modules, "scipy" in sys.modules)
    """
    result = _python(probe, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["False", "False", "False"]


@pytest.mark.slow
def test_the_example_runs_as_written(tmp_path):
    spec = importlib.util.spec_from_file_location("own_images", REPO / "examples" / "own_images.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    shapes = example.main(["--run-dir", str(tmp_path / "run"), "--steps", "2"])
    assert shapes["reconstruct"] == (4, 3, 3, 16, 16) and shapes["sample"] == (6, 3, 16, 16)
    assert shapes["sample_sets"] == (2, 4, 3, 16, 16) and shapes["encode"] == (4, 16)
    assert (tmp_path / "run" / "example_samples.png").is_file()
