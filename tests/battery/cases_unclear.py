"""Battery cases of issue 24 that ended without a traceback but unclear or wrong: an empty metric list, a plugin
that calls sys.exit, a recipe too large to record, gin's parser internals, a byte-order mark; and a resumed run dir
whose config.gin was replaced by a FIFO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from battery_harness import RECIPE, TINY, Cli, but, case, code_root, error, ok


@case("cli")
def eval_metrics_of_commas_only(ctx):
    out = ctx.root / "results.json"
    cli = ctx.cli("eval", ctx.trained(), "--metrics", ",,", "--out", out, "--device", "cpu")
    return error(but(cli, f"{out} written for no metric") if out.exists() else cli, "--metrics", "names no metric")


@case("cli")
def plugin_module_calling_sys_exit(ctx):
    (ctx.root / "exiting_parts.py").write_text("import sys\nsys.exit('licence server unreachable')\n")
    sys.path.insert(0, str(ctx.root))
    return error(ctx.cli("list", "--plugin", "exiting_parts"), "exiting_parts", "sys.exit", "licence server")


@case("cli")
def installed_plugin_calling_sys_exit(ctx):
    # An installed plugin: a distribution whose entry point (group hbaezoo.plugins) exits on import.
    dist = ctx.root / "site" / "exiting_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: exiting-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hbaezoo.plugins]\nexiting = exiting_plugin_mod\n")
    (ctx.root / "site" / "exiting_plugin_mod.py").write_text("import sys\nsys.exit('no GPU, giving up')\n")
    env = {k: v for k, v in os.environ.items() if k != "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join([str(ctx.root / "site"), str(code_root()), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-m", "hbaezoo", "list", "poolers"], capture_output=True, text=True,
                            env={**env, "COLUMNS": "10000"}, cwd=ctx.root, timeout=300)
    cli = Cli(result.returncode, result.stdout + result.stderr)
    return ok(cli, cli.says("plugin 'exiting'", "sys.exit", "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD", "poolers.mean"),
              "lists the parts; the warning names the plugin and how to skip plugins")


@case("recipes")
def recipe_of_70_megabytes(ctx):
    recipe = ctx.root / "huge.gin"
    with open(recipe, "w") as f:
        f.write(f"include {RECIPE!r}\n")
        f.write(("# " + "x" * 1022 + "\n") * 70 * 1024)
    return error(ctx.cli("run", recipe, "--run-dir", ctx.root / "r", "--steps", 1), "huge.gin", "MiB")


def recipe_plus(ctx, name: str, text: str) -> Path:
    """A recipe in the case's folder: the shapes recipe (included by its path), then `text`."""
    recipe = ctx.root / name
    recipe.write_text(f"include {RECIPE!r}\n{text}")
    return recipe


@case("recipes")
def recipe_with_an_unclosed_bracket(ctx):
    recipe = recipe_plus(ctx, "open.gin", "models.hbae.regulariser_trains = ('encoder',\n\n# the end\n")
    return error(ctx.cli("run", recipe, "--run-dir", ctx.root / "r", "--steps", 1), "open.gin", "opened on line 2",
                 "never closed")


@case("recipes")
def recipe_with_a_bare_name_as_value(ctx):
    recipe = recipe_plus(ctx, "bare.gin", "models.hbae.matching = nearest\n")
    cli = ctx.cli("run", recipe, "--run-dir", ctx.root / "r", "--steps", 1)
    return error(but(cli, "parser internals shown") if "object at 0x" in cli.out else cli, "bare.gin", "quote",
                 "'nearest'")


@case("recipes")
def recipe_starting_with_a_byte_order_mark(ctx):
    recipe = ctx.root / "bom.gin"
    recipe.write_bytes(b"\xef\xbb\xbf" + f"include {RECIPE!r}\n".encode())
    b = sum((["-b", x] for x in TINY), [])
    cli = ctx.cli("run", recipe, "--run-dir", ctx.root / "r", "--steps", 1, *b)
    return ok(cli, (ctx.root / "r" / "checkpoints").is_dir(), "trains as the recipe without the mark")


@case("run dir")
def resume_with_config_gin_replaced_by_a_fifo(ctx):
    # Read like every run-directory file: a FIFO (or device) would block or never end.
    run = ctx.trained()
    (run / "config.gin").unlink()
    os.mkfifo(run / "config.gin")
    return error(ctx.train(run, steps=3), "config.gin", "not a regular file")
