"""`hbaezoo eval` and `hbaezoo report` end to end on a two-step HBAE run (random_convnet features)."""

import json

import pytest

from hbaezoo.cli import main
from hbaezoo.eval.runner import run_metric
from hbaezoo.eval.toy import toy_context
from hbaezoo.registry import FEATURE_EXTRACTORS, METRICS, MODELS
from hbaezoo.testing import Sizes, check_part, tiny_model

METRICS_ASKED = ["fid_recon", "fid_gen", "recon_mse", "diversity", "probe", "probe_random", "set_coherence"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_bindings):
    from hbaezoo.api import fit

    out = tmp_path_factory.mktemp("runs") / "hbae"
    fit(["gin/hbae_shapes.gin"], tiny_bindings, run_dir=out, overrides={"steps": 2})
    return out


def test_eval_writes_every_requested_metric_and_the_extractor(run_dir, capsys):
    rc = main(["eval", str(run_dir), "--metrics", ",".join(METRICS_ASKED), "--extractor", "random_convnet",
               "--n", "24", "--seed", "3", "--no-progress",
               "-b", "metrics.probe.seeds = 2", "-b", "metrics.probe_random.seeds = 2",
               "-b", "metrics.diversity.inputs = 4", "-b", "metrics.diversity.per_input = 3"])
    assert rc == 0
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    assert list(results["metrics"]) == METRICS_ASKED
    for name, entry in results["metrics"].items():
        assert entry["status"] == "ok", (name, entry)
        assert entry["values"], name
    assert results["extractor"]["name"] == "random_convnet" and results["extractor"]["resize"] == "none"
    assert (results["checkpoint_step"], results["seed"], results["n"]) == (2, 3, 24)
    assert results["metrics"]["fid_gen"]["values"]["n_samples"] == 24
    assert results["metrics"]["probe"]["values"]["seeds"] == 2
    assert "lpips" in results["info"]
    out = capsys.readouterr().out
    assert "random_convnet" in out and "fid_recon" in out


def test_a_second_eval_adds_its_metrics_and_another_setting_is_kept_apart(run_dir, tmp_path):
    out = tmp_path / "results.json"
    common = ["eval", str(run_dir), "--extractor", "random_convnet", "--no-progress", "--out", str(out), "--n", "8"]
    assert main([*common, "--metrics", "fid_gen"]) == 0
    first = json.loads(out.read_text())["metrics"]["fid_gen"]
    assert main([*common, "--metrics", "recon_mse"]) == 0
    merged = json.loads(out.read_text())
    assert list(merged["metrics"]) == ["fid_gen", "recon_mse"] and merged["metrics"]["fid_gen"] == first
    assert main([*common[:-1], "6", "--metrics", "recon_mse"]) == 0
    assert list(json.loads(out.read_text())["metrics"]) == ["recon_mse"]
    kept = list(tmp_path.glob("results-*.json"))
    assert len(kept) == 1 and list(json.loads(kept[0].read_text())["metrics"]) == ["fid_gen", "recon_mse"]


def test_report_embeds_curves_samples_and_the_eval_table(run_dir, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("<img") >= 2 and "data:image/png;base64," in text
    if (run_dir / "eval" / "results.json").is_file():
        assert "Evaluation" in text and "fid_gen" in text


def test_unknown_metric_names_fail_with_suggestions(run_dir, capsys):
    assert main(["eval", str(run_dir), "--metrics", "fid_genn", "--extractor", "random_convnet"]) == 2
    assert "fid_gen" in capsys.readouterr().err


def test_a_metric_the_model_cannot_support_is_na_not_a_crash():
    gan = tiny_model(MODELS.get("gan"), Sizes())
    entry = run_metric(toy_context(gan), "fid_recon")
    assert entry["status"] == "n/a" and "reconstruct" in entry["reason"]
    entry = run_metric(toy_context(gan), "fid_gen")
    assert entry["status"] == "ok"


@pytest.mark.parametrize("part", METRICS.parts() + FEATURE_EXTRACTORS.parts(), ids=lambda p: p.gin_name)
def test_every_eval_part_passes_its_kind_checks(part):
    check_part(part.kind, part.obj, Sizes(), name=part.gin_name)
