"""Battery cases: checkpoint pruning, resume and crafted checkpoint files."""

from __future__ import annotations

from battery_harness import case, craft, error, ok, rng_python, sample, step_dir


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


