"""The hostile-user battery of issue 17: bad configs, run directories, crafted checkpoints, data folders,
CLI arguments. Each case sets something up, runs `hbaezoo` in-process and says what it expects:
a clear error (exit 2, "error:", no traceback, naming what it must name) or correct behaviour.

`run_case` classifies the outcome: clear error | correct | traceback | hang | data loss | code executed |
unclear (exit 2 without the expected words) | wrong (exit 0 where an error was due, or a failed check).
tests/battery/test_battery.py asserts every case is "clear error" or "correct";
benchmarks/battery.py prints the figures of docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[2]
RECIPE = str(REPO / "gin" / "hbae_shapes.gin")
TINY = [
    "datasets.shapes.resolution = 16", "datasets.shapes.objects_per_category = 2", "datasets.shapes.views = 4",
    "encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
    "Trainer.batch_size = 4", "Trainer.progress = False", "Trainer.tensorboard = False", "Trainer.log_every = 1",
    "Trainer.sample_every = 1000",
]
TIMEOUT_S = 120


class Hang(Exception):
    pass


@dataclass
class Cli:
    code: int | None
    out: str
    crashed: BaseException | None = None

    def says(self, *words: str) -> bool:
        flat = " ".join(self.out.split()).lower()
        return all(" ".join(w.split()).lower() in flat for w in words)


@dataclass
class Ctx:
    root: Path
    lost: list[str] = field(default_factory=list)
    module: str = field(default_factory=lambda: f"evil_{uuid.uuid4().hex[:8]}")

    @property
    def marker(self) -> Path:
        return self.root / "CODE_RAN"

    def cli(self, *args: str) -> Cli:
        from hbaezoo.cli import main
        from hbaezoo.console import console, err_console

        buf = io.StringIO()
        old = console.file, err_console.file, console.width, err_console.width
        console.file = err_console.file = buf
        console.width = err_console.width = 10_000
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                code = main([str(a) for a in args])
            return Cli(code, buf.getvalue())
        except Hang as exc:
            return Cli(None, buf.getvalue(), exc)
        except SystemExit as exc:  # argparse
            return Cli(exc.code, buf.getvalue())
        except BaseException as exc:  # noqa: BLE001  (a traceback is what the battery counts)
            return Cli(None, buf.getvalue() + f"\nTraceback: {type(exc).__name__}: {exc}", exc)
        finally:
            console.file, err_console.file, console.width, err_console.width = old

    def train(self, run_dir: Path, *extra: str, steps: int = 2, bindings=()) -> Cli:
        b = sum((["-b", x] for x in [*TINY, *bindings]), [])
        return self.cli("run", RECIPE, "--run-dir", run_dir, "--steps", steps, "--checkpoint-every", 1, *b, *extra)

    def trained(self, name: str = "run") -> Path:
        """A copy of a tiny 2-step run with checkpoints step_1 and step_2 (trained once per process)."""
        cache = Path(os.environ.get("HBAEZOO_BATTERY_CACHE", "/tmp")) / f"hbaezoo-battery-run-{os.getpid()}"
        if not (cache / "checkpoints" / "step_00000002").is_dir():
            shutil.rmtree(cache, ignore_errors=True)
            result = self.train(cache)
            assert result.code == 0, result.out
        target = self.root / name
        shutil.copytree(cache, target, ignore=shutil.ignore_patterns(".lock"))
        return target

    def evil_module(self) -> str:
        """A module that, if ever imported, leaves a marker file: the proof that code ran."""
        (self.root / f"{self.module}.py").write_text(f"open({str(self.marker)!r}, 'w').write('ran')\n")
        return self.module


def step_dir(run: Path, step: int) -> Path:
    return run / "checkpoints" / f"step_{step:08d}"


def recheck(ckpt: Path) -> None:
    """Recompute the checksums after crafting: the checks must hold without them."""
    import hashlib

    meta = json.loads((ckpt / "state.json").read_text())
    meta["sha256"] = {n: hashlib.sha256((ckpt / n).read_bytes()).hexdigest() for n in ("model.safetensors", "state.safetensors")}
    (ckpt / "state.json").write_text(json.dumps(meta))


def craft(ckpt: Path, meta=None, tensors=None, model=None) -> None:
    """Edit a checkpoint's state.json / state tensors / model tensors, then fix its checksums."""
    if tensors or model:
        for name, fn in (("state.safetensors", tensors), ("model.safetensors", model)):
            if fn:
                t = load_file(ckpt / name)
                fn(t)
                save_file(t, ckpt / name)
    recheck(ckpt)
    if meta:
        m = json.loads((ckpt / "state.json").read_text())
        meta(m)
        (ckpt / "state.json").write_text(json.dumps(m))


def find(tree, pred, path=()):
    """Paths (tuples of keys) of the JSON leaves / nodes where pred holds."""
    if pred(tree):
        yield path
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from find(v, pred, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from find(v, pred, (*path, i))


def rng_python(meta) -> list:
    """The `python` RNG list node inside state.json's flattened tree."""
    rng = next(v for k, v in meta["state"]["__dict__"] if k == "rng")
    return next(v for k, v in rng["__dict__"] if k == "python")["__list__"]


def image(path: Path, size=24, seed=0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


def vggface(root: Path, names=(b"n0001", b"n0002", b"n0003")) -> Path:
    for j, ident in enumerate(names):
        for i in range(3):
            image(Path(os.fsdecode(os.path.join(os.fsencode(root), ident, b"%d.jpg" % i))), seed=10 * j + i)
    return root


def vgg_run(ctx: Ctx, root: Path, *extra_bindings: str) -> Cli:
    b = [*TINY, "Trainer.set_size = 2", f"datasets.vggface2.root = {str(root)!r}", "datasets.vggface2.resolution = 16",
         "datasets.vggface2.test_fraction = 0.34", "Trainer.num_workers = 0", *extra_bindings]
    return ctx.cli("run", REPO / "gin" / "set_hbae_vggface.gin", "--run-dir", ctx.root / "vrun", "--steps", 1,
                   *sum((["-b", x] for x in b), []))


# -- the cases: (family, name, fn(ctx) -> ("error", Cli, words) | ("ok", Cli, check, why)) ---------------
CASES: list[tuple[str, str, object]] = []


def case(family: str):
    def register(fn):
        CASES.append((family, fn.__name__, fn))
        return fn
    return register


def ok(cli: Cli, check: bool = True, why: str = ""):
    return ("ok", cli, check, why)


def error(cli: Cli, *words: str):
    return ("error", cli, words)


def sample(ctx, run, *extra):
    return ctx.cli("sample", run, "--mode", "uncond", "--n", 2, "--out", ctx.root / "grid.png", "--device", "cpu", *extra)


# checkpoints: pruning, resume, crafted files ---------------------------------------------------------
@case("checkpoints")
def junk_newest_folder_with_keep_1(ctx):
    run = ctx.root / "run"
    ctx.train(run, bindings=["Trainer.keep_checkpoints = 1"], steps=2)
    (run / "checkpoints" / "step_00000099").mkdir()
    cli = ctx.train(run, bindings=["Trainer.keep_checkpoints = 1"], steps=6)
    good = [p.name for p in (run / "checkpoints").iterdir()]
    if "step_00000006" not in good:
        ctx.lost.append("no verified checkpoint left")
    return ok(cli, "step_00000099" in good and cli.says("skipped checkpoint step_00000099"), str(good))


@case("checkpoints")
def three_junk_folders_default_keep(ctx):
    run = ctx.trained()
    for s in (97, 98, 99):
        (run / "checkpoints" / f"step_{s:08d}").mkdir()
    cli = ctx.train(run, steps=4)
    names = {p.name for p in (run / "checkpoints").iterdir()}
    if not {"step_00000002", "step_00000003", "step_00000004"} <= names:
        ctx.lost.append(f"verified checkpoints deleted: {sorted(names)}")
    return ok(cli, {"step_00000097", "step_00000098", "step_00000099"} <= names)


@case("checkpoints")
def junk_folder_in_a_fresh_run_dir(ctx):
    (ctx.root / "r" / "checkpoints" / "step_00000099").mkdir(parents=True)
    cli = ctx.train(ctx.root / "r")
    return error(cli, "step_00000099", "none is a usable checkpoint")


@case("checkpoints")
def file_named_like_a_checkpoint(ctx):
    run = ctx.trained()
    (run / "checkpoints" / "step_00000099").write_text("mine")
    cli = ctx.train(run, steps=3)
    return ok(cli, (run / "checkpoints" / "step_00000099").read_text() == "mine")


@case("checkpoints")
def symlinked_checkpoint_folder_is_neither_used_nor_deleted(ctx):
    run, other = ctx.root / "run", ctx.trained("other")
    ctx.train(run, bindings=["Trainer.keep_checkpoints = 1"], steps=2)
    (run / "checkpoints" / "step_00000099").symlink_to(step_dir(other, 2))
    cli = ctx.train(run, bindings=["Trainer.keep_checkpoints = 1"], steps=3)
    return ok(cli, step_dir(other, 2).is_dir() and (run / "checkpoints" / "step_00000099").is_symlink())


@case("checkpoints")
def truncated_newest_checkpoint_falls_back_and_says_so(ctx):
    run = ctx.trained()
    f = step_dir(run, 2) / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-100])
    cli = ctx.train(run, steps=3)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "checksum") and step_dir(run, 3).is_dir())


@case("checkpoints")
def sha256_names_dev_zero(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m["sha256"].update({"/dev/zero": "0"}))
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "sha256"))


@case("checkpoints")
def sha256_names_a_file_outside_the_run(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m.__setitem__("sha256", {"../../x": "0", "model.safetensors": "0"}))
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "sha256"))


@case("checkpoints")
def state_json_without_step(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m.pop("step"))
    cli = ctx.train(run, steps=3)
    return ok(cli, cli.says("step_00000002", "lacks field(s) step"))


@case("checkpoints")
def step_1e308(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m.__setitem__("step", 1e308))
    cli = ctx.train(run, steps=3)
    return ok(cli, cli.says("field 'step'"))


@case("checkpoints")
def step_is_a_string(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m.__setitem__("step", "2"))
    cli = sample(ctx, run)
    return ok(cli, cli.says("field 'step'"))


@case("checkpoints")
def step_differs_from_folder(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: m.__setitem__("step", 7))
    cli = ctx.train(run, steps=3)
    return ok(cli, cli.says("but the folder is step_00000002"))


@case("checkpoints")
def float_python_rng_state(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: rng_python(m).__setitem__(0, 0.5))
    cli = ctx.train(run, steps=3)
    return error(cli, "step_00000002", "state.rng.python")


@case("checkpoints")
def float_torch_rng_state(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), tensors=lambda t: t.__setitem__("rng.torch", t["rng.torch"].float()))
    cli = ctx.train(run, steps=3)
    return error(cli, "step_00000002", "state.rng.torch")


@case("checkpoints")
def numpy_rng_state_out_of_range(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), tensors=lambda t: t["rng.numpy"].__setitem__(0, -5))
    cli = ctx.train(run, steps=3)
    return error(cli, "step_00000002", "state.rng.numpy")


@case("checkpoints")
def optimizer_moment_of_the_wrong_shape(ctx):
    import torch

    run = ctx.trained()

    def bad(t):
        key = next(k for k in sorted(t) if k.endswith("exp_avg") and t[k].ndim)
        t[key] = torch.zeros(3, 1)
    craft(step_dir(run, 2), tensors=bad)
    cli = ctx.train(run, steps=3)
    return error(cli, "step_00000002", "state.optimizers", "exp_avg", "its parameter has")


@case("checkpoints")
def optimizer_state_for_a_parameter_that_does_not_exist(ctx):
    def bad(m):
        opt = next(v for k, v in m["state"]["__dict__"] if k == "optimizers")
        group = opt["__dict__"][0][1]
        states = next(v for k, v in group["__dict__"] if k == "state")
        states["__dict__"].append([{"__int__": 9999}, {"__dict__": [["step", 1.0]]}])
    run = ctx.trained()
    craft(step_dir(run, 2), meta=bad)
    cli = ctx.train(run, steps=3)
    return error(cli, "step_00000002", "9999")


@case("checkpoints")
def int8_weights(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), model=lambda t: t.update({k: v.to(__import__("torch").int8) for k, v in t.items()
                                                       if v.is_floating_point()}))
    cli = sample(ctx, run)
    return error(cli, "dtype differs", "torch.int8")


@case("checkpoints")
def int8_weights_on_resume(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), model=lambda t: t.update({k: v.to(__import__("torch").int8) for k, v in t.items()
                                                       if v.is_floating_point()}))
    cli = ctx.train(run, steps=3)
    return error(cli, "dtype differs")


@case("checkpoints")
def state_json_not_json(ctx):
    run = ctx.trained()
    (step_dir(run, 2) / "state.json").write_text("{not json")
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "not valid JSON"))


@case("checkpoints")
def state_json_nested_100k_deep(ctx):
    run = ctx.trained()
    (step_dir(run, 2) / "state.json").write_text("[" * 100_000 + "]" * 100_000)
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002"))


@case("checkpoints")
def state_json_is_a_link_to_dev_zero(ctx):
    run = ctx.trained()
    (step_dir(run, 2) / "state.json").unlink()
    (step_dir(run, 2) / "state.json").symlink_to("/dev/zero")
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "not a regular file"))


@case("checkpoints")
def model_file_is_a_link_to_dev_zero(ctx):
    run = ctx.trained()
    (step_dir(run, 2) / "model.safetensors").unlink()
    (step_dir(run, 2) / "model.safetensors").symlink_to("/dev/zero")
    cli = ctx.train(run, steps=3)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "not a regular file"))


@case("checkpoints")
def tensor_reference_to_a_missing_key(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: [m, next(v for k, v in m["state"]["__dict__"] if k == "rng")["__dict__"][0][1]
                                            .__setitem__("__tensor__", "nope")])
    cli = sample(ctx, run)
    return ok(cli, cli.says("skipped checkpoint step_00000002", "nope"))


@case("checkpoints")
def every_checkpoint_damaged_then_sample(ctx):
    run = ctx.trained()
    for s in (1, 2):
        (step_dir(run, s) / "state.json").write_text("{}")
    cli = sample(ctx, run)
    return error(cli, "no usable checkpoint", "step_00000002", "lacks field")


@case("checkpoints")
def nonfinite_counter_is_a_string(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: [pair.__setitem__(1, "x") for pair in m["state"]["__dict__"]
                                            if pair[0] == "nonfinite_in_a_row"])
    cli = ctx.train(run, steps=3)
    return error(cli, "state.nonfinite_in_a_row")


@case("checkpoints")
def schedule_state_with_an_unknown_key(ctx):
    run = ctx.trained()

    def bad(m):
        sched = next(v for k, v in m["state"]["__dict__"] if k == "schedules")
        sched["__dict__"][0][1]["__dict__"].append(["step", "boom"])
    craft(step_dir(run, 2), meta=bad)
    cli = ctx.train(run, steps=3)
    return error(cli, "state.schedules", "unknown key")


@case("checkpoints")
def ema_state_is_a_number(ctx):
    run = ctx.trained()
    craft(step_dir(run, 2), meta=lambda m: [pair.__setitem__(1, 3) for pair in m["state"]["__dict__"] if pair[0] == "ema"])
    return error(sample(ctx, run), "state.ema")


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
    from hbaezoo.paths import RunDirLock

    run = ctx.trained()
    holder = RunDirLock(run).acquire()
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


@case("run dir")
def full_disk_at_a_checkpoint(ctx):
    import errno

    import hbaezoo.train.checkpoint as ck

    run = ctx.trained()
    real = ck.save_file

    def full(tensors, path):
        real(tensors, path)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    ck.save_file = full
    try:
        cli = ctx.train(run, steps=3)
    finally:
        ck.save_file = real
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


# recipes and values --------------------------------------------------------------------------------------
@case("recipes")
def recipe_that_includes_itself(ctx):
    r = ctx.root / "self.gin"
    r.write_text(f"include {str(r)!r}\n")
    return error(ctx.cli("run", r, "--run-dir", ctx.root / "r"), "includes itself")


@case("recipes")
def two_recipes_that_include_each_other(ctx):
    a, b = ctx.root / "a.gin", ctx.root / "b.gin"
    a.write_text(f"include {str(b)!r}\n")
    b.write_text(f"include {str(a)!r}\n")
    return error(ctx.cli("run", a, "--run-dir", ctx.root / "r"), "includes itself")


@case("recipes")
def empty_recipe(ctx):
    (ctx.root / "e.gin").write_text("")
    return error(ctx.cli("run", ctx.root / "e.gin", "--run-dir", ctx.root / "r"), "is empty")


@case("recipes")
def recipe_of_comments_only(ctx):
    (ctx.root / "c.gin").write_text("# nothing here\n")
    return error(ctx.cli("run", ctx.root / "c.gin", "--run-dir", ctx.root / "r"), "run.model")


@case("recipes")
def non_utf8_recipe(ctx):
    (ctx.root / "l.gin").write_bytes(b"run.model = @models.hbae\n# caf\xe9\n")
    return error(ctx.cli("run", ctx.root / "l.gin", "--run-dir", ctx.root / "r"), "not UTF-8", "line 2")


@case("recipes")
def folder_given_as_recipe(ctx):
    return error(ctx.cli("run", REPO / "gin", "--run-dir", ctx.root / "r"), "is a folder", "hbae_shapes.gin")


@case("recipes")
def device_given_as_recipe(ctx):
    return error(ctx.cli("run", "/dev/zero", "--run-dir", ctx.root / "r"), "not a regular file")


@case("recipes")
def batch_size_10_to_the_12(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.batch_size = 1000000000000"]), "batch_size")


@case("recipes")
def set_size_10_to_the_9(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.set_size = 1000000000"]), "batch_size")


@case("recipes")
def z_dim_1e8_float(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["models.hbae.z_dim = 1e8"]), "while building the model")


@case("recipes")
def z_dim_10_to_the_8(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["models.hbae.z_dim = 100000000"]), "GiB", "z_dim")


@case("recipes")
def width_10_to_the_6(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["encoders.resnet.width = 1000000"]), "GiB")


@case("recipes")
def shapes_resolution_10_to_the_6(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["datasets.shapes.resolution = 1000000"]), "resolution")


@case("recipes")
def negative_seed(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.seed = -1"]), "Trainer.seed")


@case("recipes")
def keep_checkpoints_as_a_string(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.keep_checkpoints = '3'"]), "keep_checkpoints")


@case("recipes")
def ema_decay_above_one(ctx):
    return error(ctx.train(ctx.root / "r", bindings=["Trainer.ema_decay = 2.0"]), "ema_decay")


# CLI paths ---------------------------------------------------------------------------------------------
@case("cli")
def sample_out_under_a_file(ctx):
    run = ctx.trained()
    (ctx.root / "f").write_text("x")
    return error(ctx.cli("sample", run, "--mode", "uncond", "--out", ctx.root / "f" / "g.png"), "is a file")


@case("cli")
def sample_out_is_a_folder(ctx):
    run = ctx.trained()
    return error(ctx.cli("sample", run, "--mode", "uncond", "--out", ctx.root), "is a folder")


@case("cli")
def sample_n_10_to_the_9(ctx):
    run = ctx.trained()
    return error(ctx.cli("sample", run, "--mode", "uncond", "--n", 10**9, "--out", ctx.root / "g.png"), "--n")


@case("cli")
def sample_run_dir_is_a_file(ctx):
    (ctx.root / "f").write_text("x")
    return error(ctx.cli("sample", ctx.root / "f", "--mode", "uncond", "--out", ctx.root / "g.png"), "not a run directory")


@case("cli")
def eval_out_is_a_folder(ctx):
    run = ctx.trained()
    return error(ctx.cli("eval", run, "--out", ctx.root, "--metrics", "recon_mse", "--n", 2), "is a folder")


@case("cli")
def report_out_under_a_file(ctx):
    run = ctx.trained()
    (ctx.root / "f").write_text("x")
    return error(ctx.cli("report", run, "--out", ctx.root / "f" / "r.html"), "is a file")


@case("cli")
def new_plugin_dest_is_a_file(ctx):
    (ctx.root / "f").write_text("x")
    return error(ctx.cli("new-plugin", "zz_battery", "--kind", "poolers", "--dest", ctx.root / "f"), "--dest", "is a file")


@case("cli")
def new_plugin_name_ending_in_a_newline(ctx):
    return error(ctx.cli("new-plugin", "zz_battery\n", "--kind", "poolers", "--dest", ctx.root), "not usable")


@case("cli")
def new_plugin_name_with_undecodable_bytes(ctx):
    return error(ctx.cli("new-plugin", os.fsdecode(b"zz_caf\xe9"), "--kind", "poolers", "--dest", ctx.root), "not usable")


@case("cli")
def report_of_a_missing_run(ctx):
    return error(ctx.cli("report", ctx.root / "nope"), "not a directory")


# data folders ----------------------------------------------------------------------------------------------
@case("data")
def latin1_folder_name(ctx):
    root = vggface(ctx.root / "vgg", names=(b"n0001", b"Jos\xe9", b"n0003"))
    cli = vgg_run(ctx, root)
    return ok(cli, "done" in cli.out)


@case("data")
def latin1_folder_name_in_an_error(ctx):
    root = ctx.root / os.fsdecode(b"d\xe9j\xe0")
    root.mkdir()
    (root / "notes.txt").write_text("x")
    return error(vgg_run(ctx, root), "found no", "d\\xe9j\\xe0")


@case("data")
def symlink_loop_in_the_data_folder(ctx):
    root = vggface(ctx.root / "vgg")
    (root / "loop").symlink_to(root / "loop")
    (root / "n0001" / "a.jpg").symlink_to(root / "n0001" / "b.jpg")
    (root / "n0001" / "b.jpg").symlink_to(root / "n0001" / "a.jpg")
    return ok(vgg_run(ctx, root))


@case("data")
def image_of_144_megapixels(ctx):
    root = vggface(ctx.root / "vgg")
    Image.new("1", (12_000, 12_000)).save(root / "n0001" / "big.png")
    cli = vgg_run(ctx, root)
    skipped = (ctx.root / "vrun" / "skipped_files.txt")
    return ok(cli, skipped.is_file() and "big.png\ttoo large" in skipped.read_text())


@case("data")
def data_root_is_a_file(ctx):
    (ctx.root / "f").write_text("x")
    return error(vgg_run(ctx, ctx.root / "f"), "is a file")


@case("data")
def data_folder_of_text_files(ctx):
    (ctx.root / "d" / "a").mkdir(parents=True)
    (ctx.root / "d" / "a" / "x.txt").write_text("x")
    return error(vgg_run(ctx, ctx.root / "d"), "found no")


@case("data")
def every_image_corrupt(ctx):
    root = vggface(ctx.root / "vgg")
    for p in root.rglob("*.jpg"):
        p.write_bytes(b"\xff\xd8 not a jpeg")
    return error(vgg_run(ctx, root), "failed the check")


# -- running one case -----------------------------------------------------------------------------------
OUTCOMES = ("clear error", "correct", "traceback", "hang", "data loss", "code executed", "unclear", "wrong")


def _alarm(signum, frame):
    raise Hang(f"no answer within {TIMEOUT_S} s")


def run_case(fn, root: Path) -> tuple[str, str]:
    """(outcome, detail) of one case, run in `root` (an empty folder)."""
    ctx = Ctx(root)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    saved_path = list(sys.path)
    try:
        verdict = fn(ctx)
    except Hang as exc:
        return "hang", str(exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        sys.path[:] = saved_path
        sys.modules.pop(ctx.module, None)
    cli = verdict[1]
    detail = " ".join(cli.out.split())[-600:]
    if isinstance(cli.crashed, Hang):
        return "hang", detail
    if ctx.marker.exists():
        return "code executed", detail
    if cli.crashed is not None or "Traceback" in cli.out:
        return "traceback", detail
    if ctx.lost:
        return "data loss", "; ".join(ctx.lost) + " | " + detail
    if verdict[0] == "error":
        if cli.code == 2 and cli.says("error:") and cli.says(*verdict[2]):
            return "clear error", detail
        return ("unclear" if cli.code == 2 else "wrong"), f"exit {cli.code}; expected words {verdict[2]} | {detail}"
    _, _, check, why = verdict
    if cli.code == 0 and check:
        return "correct", detail
    return "wrong", f"exit {cli.code}; check failed {why} | {detail}"
