"""Battery cases of issue 24: a received run directory runs no code and is neither written nor read
through a link; checkpoints hold finite weights of the right model; no step is logged twice."""

from __future__ import annotations

import json

from battery_harness import case, craft, error, ok, sample, step_dir
from cases_run_dirs import poisoned, train_saving_with


# code reached through gin's dynamic registration --------------------------------------------------------
def attribute_chain(ctx, call: str) -> str:
    return ("from __gin__ import dynamic_registration\nimport hbaezoo.paths\nimport hbaezoo.files\n"
            f"{call}\nhbaezoo.run.recipe.model = @hbaezoo.paths.os.system()")


@case("trust")
def dynamic_registration_chain_to_os_system(ctx):
    run = poisoned(ctx, attribute_chain(ctx, f"hbaezoo.paths.os.system.command = 'touch {ctx.marker}'"))
    return error(sample(ctx, run), "would run code", "dynamic_registration", "line 1")


@case("trust")
def dynamic_registration_chain_to_a_file_write_on_eval(ctx):
    run = poisoned(ctx, attribute_chain(ctx, f"hbaezoo.files.write_text_atomic.path = '{ctx.marker}'"))
    return error(ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu"), "would run code")


@case("trust")
def import_of_an_hbaezoo_module_in_config_gin(ctx):
    run = poisoned(ctx, "import hbaezoo.paths")
    return error(sample(ctx, run), "would run code", "import hbaezoo.paths")


# links in a run directory ---------------------------------------------------------------------------------
def linked(ctx, name: str, folder: bool = False):
    """A trained run whose `name` is a link to a file (or folder) outside it; returns (run, target)."""
    run = ctx.trained()
    target = ctx.root / "victim"
    if folder:
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    else:
        target.write_text("mine")
    path = run / name
    if path.is_dir():
        import shutil
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target)
    return run, target


def untouched(ctx, target) -> bool:
    if target.is_dir():
        return sorted(p.name for p in target.iterdir()) == ["keep.txt"] and (target / "keep.txt").read_text() == "mine"
    return target.read_text() == "mine"


def refused(ctx, cli, target, name):
    if not untouched(ctx, target):
        ctx.lost.append(f"{target} written through the link {name}")
    return error(cli, name, "symbolic link")


@case("links")
def lock_file_is_a_link(ctx):
    run, target = linked(ctx, ".lock")
    return refused(ctx, ctx.train(run, steps=3), target, ".lock")


@case("links")
def metrics_jsonl_is_a_link(ctx):
    run, target = linked(ctx, "metrics.jsonl")
    return refused(ctx, ctx.train(run, steps=3), target, "metrics.jsonl")


@case("links")
def report_html_is_a_link(ctx):
    run, target = linked(ctx, "report.html")
    return refused(ctx, ctx.cli("report", run), target, "report.html")


@case("links")
def eval_folder_is_a_link(ctx):
    run, target = linked(ctx, "eval", folder=True)
    cli = ctx.cli("eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu")
    return refused(ctx, cli, target, "eval")


@case("links")
def checkpoints_folder_is_a_link_to_another_run(ctx):
    other = ctx.trained("other")
    run = ctx.trained()
    import shutil
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").symlink_to(other / "checkpoints")
    before = sorted(p.name for p in (other / "checkpoints").iterdir())
    cli = ctx.train(run, steps=5)
    if sorted(p.name for p in (other / "checkpoints").iterdir()) != before:
        ctx.lost.append("another run's checkpoints changed through the link")
    return error(cli, "checkpoints", "symbolic link")


@case("links")
def samples_folder_is_a_link_in_the_report(ctx):
    run, target = linked(ctx, "samples", folder=True)
    return refused(ctx, ctx.cli("report", run, "--out", ctx.root / "r.html"), target, "samples")


# what a checkpoint holds ---------------------------------------------------------------------------------
@case("checkpoints")
def learning_rate_1e999_saves_no_checkpoint(ctx):
    cli = ctx.train(ctx.root / "r", bindings=["critic/optimizers.adam.lr = 1e999", "generator/optimizers.adam.lr = 1e999"])
    if step_dir(ctx.root / "r", 2).is_dir():
        ctx.lost.append("a checkpoint of non-finite weights was written")
    return error(cli, "not finite", "learning rate")


@case("checkpoints")
def checkpoint_with_a_nan_weight_on_sample(ctx):
    run = ctx.trained()

    def poison(t):
        key = next(k for k, v in t.items() if v.is_floating_point())
        t[key] = t[key].clone().fill_(float("nan"))
    for step in (1, 2):
        craft(step_dir(run, step), model=poison)
    return error(sample(ctx, run), "non-finite")


@case("checkpoints")
def checkpoint_of_another_model_kind_that_fits(ctx):
    run = ctx.trained()
    def set_hbae(meta):
        items = meta["state"]["__dict__"]
        items[:] = [kv for kv in items if kv[0] != "model"] + [["model", "SetHBAE"]]
    for step in (1, 2):
        craft(step_dir(run, step), meta=set_hbae)
    return error(sample(ctx, run), "SetHBAE", "HBAE")


@case("run dir")
def full_disk_in_safetensors_at_a_checkpoint(ctx):
    from safetensors import SafetensorError

    run = ctx.trained()

    def full(tensors, path):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    cli = train_saving_with(ctx, run, full)
    left = [p.name for p in (run / "checkpoints").iterdir()]
    if not step_dir(run, 2).is_dir() or any(n.startswith(".tmp") for n in left):
        ctx.lost.append(f"checkpoints after a full disk: {left}")
    again = ctx.train(run, steps=3)
    if again.code != 0 or not step_dir(run, 3).is_dir():
        ctx.lost.append("the same command did not resume once there was space")
    return error(cli, "disk is full", "MiB", "step_00000003")


@case("run dir")
def steps_logged_after_the_last_checkpoint_are_not_logged_twice(ctx):
    run = ctx.trained()
    with open(run / "metrics.jsonl", "a") as f:  # what a run killed after step 4 (checkpoint at 2) left
        for step in (3, 4):
            f.write(json.dumps({"step": step, "critic/loss": 1.0}) + "\n")
    cli = ctx.train(run, steps=4)
    rows = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    if len(rows) != len(set(rows)):
        ctx.lost.append(f"steps logged twice: {rows}")
    return ok(cli, rows[-1] == 4)
