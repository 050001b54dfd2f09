"""Harness of the hostile-user battery of issue 17: bad configs, run directories, crafted checkpoints, data folders,
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
import subprocess
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
# A case with no answer by then counts as a hang; raise it on a machine shared with a training.
TIMEOUT_S = int(os.environ.get("HBAEZOO_BATTERY_TIMEOUT", "120"))


class Hang(BaseException):
    """Raised by SIGALRM; a BaseException, so that no `except Exception` in the code under test swallows it."""


class NotRun(Exception):
    """A case whose setup this machine cannot make (e.g. no mount namespace): counted as "not run", never as passed."""


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
        # The consoles follow sys.stdout / sys.stderr (redirected below); pinning their `file` would
        # leave them writing to this test's streams in every later test of the process.
        old = console.width, err_console.width
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
            console.width, err_console.width = old

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


def in_read_only(ctx: Ctx, run: Path, *commands: list) -> list[Cli]:
    """Each `hbaezoo` command run with `run` bind-mounted read-only, as a run received on a read-only disk, in a
    private mount namespace (`unshare -m`: the mount ends with the process). NotRun where no mount is allowed."""
    script = ctx.root / "read_only_commands.py"
    script.write_text(
        "import contextlib, io, json, sys\n"
        "from hbaezoo.cli import main\n"
        "out = []\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):\n"
        "        try:\n"
        "            code = main(args)\n"
        "        except SystemExit as exc:\n"
        "            code = exc.code\n"
        "        except BaseException as exc:\n"
        "            code = None\n"
        "            print(f'Traceback: {type(exc).__name__}: {exc}')\n"
        "    out.append([code, buf.getvalue()])\n"
        "print('RESULTS' + json.dumps(out))\n")
    mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code_root()), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "10000"}
    try:
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", mount, str(run),
                                 sys.executable, str(script), json.dumps([[str(a) for a in c] for c in commands])],
                                capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    except FileNotFoundError as exc:
        raise NotRun(f"no `unshare` here ({exc})") from None
    if "RESULTS" not in result.stdout:
        if "Traceback" in result.stderr:
            return [Cli(None, result.stdout + result.stderr)]
        raise NotRun(f"no read-only bind mount here: {' '.join(result.stderr.split())[-300:]}")
    return [Cli(code, out) for code, out in json.loads(result.stdout.split("RESULTS", 1)[1])]


def code_root() -> Path:
    """The folder holding the hbaezoo package under test (benchmarks/battery.py may measure another checkout)."""
    import hbaezoo

    return Path(hbaezoo.__file__).resolve().parents[1]


def but(cli: Cli, why: str) -> Cli:
    """`cli` judged by `why` alone: a command that said the right words after doing the wrong thing first."""
    return Cli(cli.code, f"{why} (and nothing else counts)", cli.crashed)


def joined(clis: list[Cli]) -> Cli:
    """Several commands as one outcome: the first non-zero exit (0 if none), every output."""
    codes = [c.code for c in clis]
    return Cli(next((c for c in codes if c != 0), 0), "\n".join(c.out for c in clis),
               next((c.crashed for c in clis if c.crashed is not None), None))


def sample(ctx, run, *extra):
    return ctx.cli("sample", run, "--mode", "uncond", "--n", 2, "--out", ctx.root / "grid.png", "--device", "cpu", *extra)


# -- running one case -----------------------------------------------------------------------------------
OUTCOMES = ("clear error", "correct", "traceback", "hang", "data loss", "code executed", "unclear", "wrong",
            "not run")


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
    except NotRun as exc:
        return "not run", str(exc)
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
