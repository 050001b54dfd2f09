"""Battery cases: recipes and values, CLI paths, data folders."""

from __future__ import annotations

import os

from PIL import Image

from battery_harness import REPO, case, error, ok, vgg_run, vggface


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


