"""Battery cases of issue 24 that ended in a traceback: output suffixes, device names, seeds, OS errors
that gin re-raised without their errno, caches that cannot be written, hostile run-directory files,
recipes deep enough to exhaust the parser's stack."""

from __future__ import annotations

import json
import os
from pathlib import Path

from battery_harness import RECIPE, case, error, ok, sample, vgg_run


@case("cli")
def sample_out_without_a_suffix(ctx):
    return error(ctx.cli("sample", ctx.trained(), "--mode", "uncond", "--out", ctx.root / "grid_noext"), "--out", ".png")


@case("cli")
def sample_out_with_a_text_suffix(ctx):
    return error(ctx.cli("sample", ctx.trained(), "--mode", "uncond", "--out", ctx.root / "grid.txt"), "--out", ".txt")


@case("cli")
def sample_device_gpu(ctx):
    return error(sample(ctx, ctx.trained(), "--device", "gpu"), "'gpu'", "cuda")


@case("cli")
def sample_seed_of_23_digits(ctx):
    return error(sample(ctx, ctx.trained(), "--seed", "99999999999999999999999"), "--seed")


@case("recipes")
def trainer_device_gpu(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.device = 'gpu'"]), "Trainer.device", "'gpu'")


@case("recipes")
def trainer_device_zero(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.device = 0"]), "Trainer.device", "0")


@case("recipes")
def trainer_device_mps(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.device = 'mps'"]), "Trainer.device", "'mps'")


@case("recipes")
def trainer_seed_two_to_the_64(ctx):
    return error(ctx.train(ctx.root / "r", bindings=[f"Trainer.seed = {2**64}"]), "Trainer.seed")


@case("data")
def dataset_root_of_100000_characters(ctx):
    return error(vgg_run(ctx, ctx.root / ("x" * 100_000)), "File name too long")


# caches that cannot be written ---------------------------------------------------------------------------
@case("data")
def shapes_cache_folder_unwritable(ctx):
    # /sys refuses new folders (a real OS error, also for root): the rendered shapes cannot be cached.
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = "/sys/hbaezoo-battery-cache"
    try:
        cli = ctx.train(ctx.root / "r", steps=1, bindings=["datasets.shapes.seed = 24"])  # a render no cache holds
    finally:
        os.environ.pop("XDG_CACHE_HOME") if old is None else os.environ.__setitem__("XDG_CACHE_HOME", old)
    return ok(cli, cli.says("could not be cached", "/sys/hbaezoo-battery-cache", "XDG_CACHE_HOME"),
              "trains, with a warning naming the cache folder")


@case("data")
def shapes_cache_disk_full(ctx):
    import hbaezoo.data.shapes as shapes
    from safetensors import SafetensorError

    def full(tensors, path):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    real, shapes.save_file = shapes.save_file, full
    try:
        cli = ctx.train(ctx.root / "r", steps=1, bindings=["datasets.shapes.seed = 25"])
    finally:
        shapes.save_file = real
    return ok(cli, cli.says("could not be cached", "No space left on device"), "trains, with a warning")


# hostile run-directory files -----------------------------------------------------------------------------
@case("report")
def metrics_value_of_plus_minus_1_7e308(ctx):
    run = ctx.trained()
    with open(run / "metrics.jsonl", "a") as f:
        for step, value in ((3, 1.7e308), (4, -1.7e308)):
            f.write(json.dumps({"step": step, "critic/loss": value}) + "\n")
    cli = ctx.cli("report", run, "--out", ctx.root / "report.html")
    page = (ctx.root / "report.html").read_text() if (ctx.root / "report.html").is_file() else ""
    return ok(cli, "left out of the curves" in page and "<img" in page, "the page, without the two values")


def evaluated(ctx) -> tuple[Path, dict]:
    """A trained run with a real eval/results.json (recon_mse), and that file's content."""
    run = ctx.trained()
    first = ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu", "--no-progress")
    assert first.code == 0, first.out
    return run, json.loads((run / "eval" / "results.json").read_text())


@case("report")
def results_json_created_holding_a_slash(ctx):
    run, results = evaluated(ctx)
    results.update(created="/", seed=7)  # another evaluation: kept aside under a name made from `created`
    (run / "eval" / "results.json").write_text(json.dumps(results))
    cli = ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu", "--no-progress")
    kept = sorted(p.name for p in (run / "eval").iterdir())
    return ok(cli, len(kept) == 2 and all(p.is_file() for p in (run / "eval").iterdir()), f"kept aside: {kept}")


@case("report")
def results_json_with_a_string_where_a_number_belongs(ctx):
    run, results = evaluated(ctx)
    results["metrics"]["probe"] = {"status": "ok", "values": {"image/4": "lots"}, "seconds": 1.0}
    (run / "eval" / "results.json").write_text(json.dumps(results))  # same settings: carried over
    cli = ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu", "--no-progress")
    after = json.loads((run / "eval" / "results.json").read_text())["metrics"]
    return ok(cli, "recon_mse" in after and "probe" not in after, "the bad entry dropped, the new one written")


@case("trust")
def data_json_image_shape_of_16384_squared(ctx):
    run = ctx.trained()
    data = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**data, "image_shape": [3, 16384, 16384]}))
    return error(sample(ctx, run), "data.json", "(3, 16384, 16384)", "RAM")


# recipes that exhaust the parser's stack -----------------------------------------------------------------
@case("recipes")
def recipe_nested_5000_parentheses_deep(ctx):
    recipe = ctx.root / "deep.gin"
    recipe.write_text(f"include {RECIPE!r}\nmodels.hbae.beta = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    return error(ctx.cli("run", recipe, "--run-dir", ctx.root / "r", "--steps", 1), "deep.gin", "too deeply")


@case("recipes")
def recipe_include_chain_5000_deep(ctx):
    for i in range(5000):
        (ctx.root / f"chain{i}.gin").write_text(f"include 'chain{i + 1}.gin'\n")
    (ctx.root / "chain5000.gin").write_text(f"include {RECIPE!r}\n")
    return error(ctx.cli("run", ctx.root / "chain0.gin", "--run-dir", ctx.root / "r", "--steps", 1),
                 "chain0.gin", "deep")
