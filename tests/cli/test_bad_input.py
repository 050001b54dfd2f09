"""Bad input anywhere gives one clear message and exit status 2 — never a traceback."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbaezoo.cli import main
from hbaezoo.registry import MODELS

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECIPE = os.path.join(REPO, "gin", "hbae_shapes.gin")
HBAE_PARAMS = set(MODELS.part("hbae").parameters())

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)

bad_bindings = st.one_of(
    identifiers.filter(lambda p: p not in HBAE_PARAMS).map(lambda p: f"models.hbae.{p} = 1"),
    st.tuples(identifiers, identifiers).map(lambda t: f"models.hbae.pooler = @poolers.zz{t[0]}"),
    st.tuples(identifiers, identifiers).map(lambda t: f"zz{t[0]}.{t[1]}.width = 3"),
    st.integers(max_value=-1).map(lambda n: f"Trainer.steps = {n}"),
    st.integers(max_value=0).map(lambda n: f"Trainer.batch_size = {n}"),
    st.sampled_from(["models.hbae.beta = ((", "models.hbae.z_dim = 'many'", "Trainer.amp = 'fp8'",
                     "models.hbae.encoder = @encoders.resnet()", "= 3", "Trainer.set_size = 0",
                     "datasets.shapes.test_fraction = 2.0", "models.hbae.divergence = @divergences.kl()"]),
)


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(binding=bad_bindings)
def test_generated_bad_bindings_exit_2_without_traceback(binding, capsys, tiny, tmp_path):
    run_dir = tmp_path / uuid.uuid4().hex
    tiny = [*tiny, "Trainer.steps = 1"]
    code, output = run_cli(["run", RECIPE, "--run-dir", str(run_dir), *sum((["-b", b] for b in tiny), []),
                            "-b", binding], capsys)
    assert code == 2, output
    assert "Traceback" not in output
    assert "error:" in output
    assert "In call to configurable" not in output  # gin's call lines: our messages already say where


def test_an_error_raised_inside_a_part_says_where_without_gin_internals(capsys, tiny, tmp_path):
    code, output = run_cli(["run", RECIPE, "--run-dir", str(tmp_path / "r"), *sum((["-b", b] for b in tiny), []),
                            "-b", "Trainer.batch_size = 0"], capsys)
    assert code == 2 and "Trainer.batch_size must be an integer >= 1, got 0." in output, output
    assert "In call to" not in output and "<class" not in output, output


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.one_of(
    st.just(["run"]),
    st.just(["run", "no/such/recipe.gin"]),
    st.integers(max_value=0).map(lambda n: ["run", RECIPE, "--steps", str(n)]),
    st.text(alphabet="abcxyz%", min_size=1, max_size=5).map(lambda s: ["run", RECIPE, "--steps", s]),
    identifiers.map(lambda k: ["list", f"zz{k}"]),
    identifiers.map(lambda c: [f"zz{c}"]),
    st.just(["sample", "/no/such/run", "--mode", "recon", "--out", "x.png"]),
    st.just(["sample", "/tmp", "--mode", "nonsense", "--out", "x.png"]),
    st.just(["new-plugin", "9bad name", "--kind", "poolers"]),
))
def test_generated_bad_cli_arguments_exit_2_without_traceback(args, capsys):
    try:
        code, output = run_cli(args, capsys)
    except SystemExit as exc:
        code, output = exc.code, capsys.readouterr().err
    assert code == 2, output
    assert "Traceback" not in output


def test_typo_in_a_part_name_suggests_the_closest(capsys, tiny, tmp_path):
    code, output = run_cli(["run", RECIPE, "--run-dir", str(tmp_path / "r"),
                            "-b", "models.hbae.pooler = @poolers.maen"], capsys)
    assert code == 2
    assert "Did you mean" in output and "poolers.mean" in output


def test_typo_in_a_parameter_name_suggests_the_closest(capsys, tmp_path):
    code, output = run_cli(["run", RECIPE, "--run-dir", str(tmp_path / "r"), "-b", "encoders.resnet.widht = 3"], capsys)
    assert code == 2 and "width" in output


def test_typo_in_a_gin_file_names_file_and_line(capsys, tmp_path):
    shutil.copytree(Path(RECIPE).parent / "shared", tmp_path / "shared")  # what the recipe includes
    text = open(RECIPE).read()
    line = text[:text.index("@poolers.mean")].count("\n") + 1  # after the includes: numbers must stay the file's
    bad = tmp_path / "bad.gin"
    bad.write_text(text.replace("@poolers.mean", "@poolers.meen"))
    code, output = run_cli(["run", str(bad), "--run-dir", str(tmp_path / "r")], capsys)
    assert code == 2 and "bad.gin" in output and f"line {line}" in output and "poolers.mean" in output, output


def test_debug_flag_shows_the_traceback(tmp_path):
    from hbaezoo.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "run", RECIPE, "--run-dir", str(tmp_path / "r"), "-b", "models.hbae.pooler = @poolers.maen"])


def test_gan_asked_to_reconstruct_says_it_has_no_encoder(capsys, tiny, tmp_path):
    recipe = os.path.join(REPO, "gin", "gan_shapes.gin")
    assert main(["run", recipe, "--run-dir", str(tmp_path / "gan"), "--steps", "1", *sum((["-b", b] for b in tiny), [])]) == 0
    code, output = run_cli(["sample", str(tmp_path / "gan"), "--mode", "recon", "--out", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "has no encoder" in output
    code, output = run_cli(["sample", str(tmp_path / "gan"), "--mode", "uncond", "--temperature", "0.5",
                            "--out", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "applies to a code prior fitted" in output and "has none" in output
