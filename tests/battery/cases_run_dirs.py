"""Battery cases: loading runs no code, the report escapes, the run directory's lifecycle."""

from __future__ import annotations

import json
import os
import sys

from battery_harness import Cli, case, error, ok, sample, step_dir


# loading runs no code ----------------------------------------------------------------------------------
def poisoned(ctx, line: str) -> Path:
    run = ctx.trained()
    (run / "config.gin").write_text(line + "\n" + (run / "config.gin").read_text())
    sys.path.insert(0, str(ctx.root))
    return run


@case("trust")
def import_line_in_config_gin_on_sample(ctx):
    run = poisoned(ctx, f"import {ctx.evil_module()}")
    return error(sample(ctx, run), "would run code", "--trust-config")


@case("trust")
def from_import_line_in_config_gin(ctx):
    run = poisoned(ctx, f"from {ctx.evil_module()} import x")
    return error(sample(ctx, run), "would run code")


@case("trust")
def aliased_import_after_dynamic_registration(ctx):
    run = poisoned(ctx, f"from __gin__ import dynamic_registration\nimport {ctx.evil_module()} as hbaezoo_x")
    return error(sample(ctx, run), "would run code")


@case("trust")
def import_line_in_config_gin_on_eval(ctx):
    run = poisoned(ctx, f"import {ctx.evil_module()}")
    return error(ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu"), "would run code")


@case("trust")
def stdlib_import_in_config_gin(ctx):
    run = poisoned(ctx, "import os.path")
    return error(sample(ctx, run), "would run code", "import os.path")


@case("trust")
def include_line_in_config_gin(ctx):
    evil = ctx.root / "evil.gin"
    evil.write_text(f"import {ctx.evil_module()}\n")
    run = poisoned(ctx, f"include {str(evil)!r}")
    return error(sample(ctx, run), "would run code", "include")


@case("trust")
def config_gin_is_a_link_to_dev_zero(ctx):
    run = ctx.trained()
    (run / "config.gin").unlink()
    (run / "config.gin").symlink_to("/dev/zero")
    return error(sample(ctx, run), "config.gin", "not a regular file")


@case("trust")
def data_json_with_a_bad_image_shape(ctx):
    run = ctx.trained()
    (run / "data.json").write_text(json.dumps({"image_shape": [3, -1, 10**9], "num_classes": 0}))
    return error(sample(ctx, run), "data.json", "image_shape")


@case("trust")
def data_json_not_json(ctx):
    run = ctx.trained()
    (run / "data.json").write_bytes(b"\xff\xfe")
    return error(sample(ctx, run), "data.json")


# the report escapes everything ---------------------------------------------------------------------------
SCRIPT = "<script>alert(1)</script>"


def report_of(ctx, run) -> tuple[Cli, str]:
    cli = ctx.cli("report", run, "--out", ctx.root / "report.html")
    page = (ctx.root / "report.html").read_text() if (ctx.root / "report.html").is_file() else ""
    return cli, page


def results_json(run: Path, **fields) -> None:
    (run / "eval").mkdir(exist_ok=True)
    base = {"model": "HBAE", "checkpoint_step": 2, "n": 10, "seed": 0, "extractor": {"name": "x"},
            "metrics": {"m": {"status": "ok", "values": {"v": 1.0}}}}
    (run / "eval" / "results.json").write_text(json.dumps({**base, **fields}))


@case("report")
def script_in_results_seed(ctx):
    run = ctx.trained()
    results_json(run, seed=SCRIPT)
    cli, page = report_of(ctx, run)
    return ok(cli, SCRIPT not in page and "&lt;script&gt;" in page)


@case("report")
def script_in_n_step_and_metric_values(ctx):
    run = ctx.trained()
    results_json(run, n=SCRIPT, checkpoint_step=SCRIPT,
                 metrics={SCRIPT: {"status": "ok", "values": {SCRIPT: SCRIPT}}, "x": {"status": SCRIPT, "reason": [SCRIPT]}},
                 info={SCRIPT: SCRIPT})
    cli, page = report_of(ctx, run)
    return ok(cli, SCRIPT not in page)


@case("report")
def script_in_metrics_jsonl_step(ctx):
    run = ctx.trained()
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": SCRIPT, "critic/loss": 1.0}) + "\n")
        f.write(json.dumps({"step": 3, SCRIPT: 1.0, "$\\frac{": 2.0}) + "\n")
    cli, page = report_of(ctx, run)
    return ok(cli, SCRIPT not in page)


@case("report")
def results_json_of_the_wrong_shape(ctx):
    run = ctx.trained()
    (run / "eval").mkdir()
    (run / "eval" / "results.json").write_text(json.dumps({"metrics": [1, 2], "extractor": "x", "info": 5}))
    cli, page = report_of(ctx, run)
    return ok(cli, "Evaluation" in page)


@case("report")
def sample_png_is_a_link_to_dev_zero(ctx):
    run = ctx.trained()
    (run / "samples").mkdir(exist_ok=True)
    (run / "samples" / "uncond_step9.png").symlink_to("/dev/zero")
    cli, page = report_of(ctx, run)
    return ok(cli)


@case("report")
def config_gin_not_utf8_in_report(ctx):
    run = ctx.trained()
    (run / "config.gin").write_bytes(b"# caf\xe9\n")
    cli, page = report_of(ctx, run)
    return ok(cli, "caf" in page)


# run directory lifecycle ---------------------------------------------------------------------------------
@case("run dir")
def bad_value_then_the_corrected_command(ctx):
    first = ctx.train(ctx.root / "r", bindings=["Trainer.batch_size = 0"])
    nothing_written = not (ctx.root / "r" / "config.gin").exists()
    second = ctx.train(ctx.root / "r")
    return ok(second, first.code == 2 and nothing_written)


@case("run dir")
def second_run_on_a_locked_run_dir(ctx):
    from hbaezoo.rundir.layout import RunDir

    run = ctx.trained()
    holder = RunDir(run).lock().acquire()
    try:
        cli = ctx.train(run, steps=3)
    finally:
        holder.release()
    rows = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    if len(rows) != len(set(rows)):
        ctx.lost.append("steps logged twice")
    return error(cli, "is in use by pid", str(os.getpid()))


@case("run dir")
def checkpoints_is_a_file(ctx):
    (ctx.root / "r").mkdir()
    (ctx.root / "r" / "checkpoints").write_text("x")
    cli = ctx.train(ctx.root / "r")
    return error(cli, "checkpoints is a file")


@case("run dir")
def run_dir_is_a_file(ctx):
    (ctx.root / "r").write_text("x")
    return error(ctx.train(ctx.root / "r"), "is a file")


@case("run dir")
def run_dir_under_a_file(ctx):
    (ctx.root / "f").write_text("x")
    return error(ctx.train(ctx.root / "f" / "r"), "is a file")


@case("run dir")
def run_dir_unwritable(ctx):
    return error(ctx.train("/proc/hbaezoo-battery/r"), "/proc")


def train_saving_with(ctx, run, save_file) -> Cli:
    """Resume `run` for 3 steps with the checkpoint writer's safetensors `save_file` replaced by `save_file`."""
    import hbaezoo.rundir.checkpoints as ck

    real = ck.save_file
    ck.save_file = save_file
    try:
        return ctx.train(run, steps=3)
    finally:
        ck.save_file = real


@case("run dir")
def full_disk_at_a_checkpoint(ctx):
    import errno

    import hbaezoo.rundir.checkpoints as ck

    run = ctx.trained()
    real = ck.save_file

    def full(tensors, path):
        real(tensors, path)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    cli = train_saving_with(ctx, run, full)
    left = [p.name for p in (run / "checkpoints").iterdir()]
    if not step_dir(run, 2).is_dir():
        ctx.lost.append("previous checkpoint lost")
    if any(n.startswith(".tmp") for n in left):
        ctx.lost.append(f"temporary folder left behind: {left}")
    return error(cli, "disk is full", "step_00000003")


@case("run dir")
def stale_temporary_folder_of_a_killed_writer(ctx):
    run = ctx.trained()
    (run / "checkpoints" / ".tmp_step_00000002_99999").mkdir()
    cli = ctx.train(run, steps=3)
    return ok(cli, not (run / "checkpoints" / ".tmp_step_00000002_99999").exists())


