"""Battery cases of issue 24: a run directory received on a read-only disk is read, and written elsewhere when
asked; what would write into it says so before any work. The run is bind-mounted read-only in a private mount
namespace (`in_read_only`); where this machine allows no mount, the cases count as "not run"."""

from __future__ import annotations

from battery_harness import RECIPE, TINY, but, case, error, in_read_only, joined, ok


def listing(run) -> dict:
    return {str(p.relative_to(run)): p.stat().st_mtime_ns for p in sorted(run.rglob("*"))}


@case("run dir")
def read_only_run_dir_is_sampled_evaluated_and_reported_elsewhere(ctx):
    run = ctx.trained()
    before = listing(run)
    out = ctx.root / "out"
    clis = in_read_only(ctx, run,
                        ["sample", run, "--mode", "uncond", "--n", 2, "--out", out / "grid.png", "--device", "cpu"],
                        ["eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu", "--out", out / "r.json"],
                        ["report", run, "--out", out / "report.html"])
    written = all((out / name).is_file() for name in ("grid.png", "r.json", "report.html"))
    return ok(joined(clis), written and listing(run) == before, "three files written outside, the run untouched")


@case("run dir")
def read_only_run_dir_eval_and_report_say_out_before_any_work(ctx):
    run = ctx.trained()
    clis = in_read_only(ctx, run, ["eval", run, "--metrics", "recon_mse", "--n", 2, "--device", "cpu"],
                        ["report", run])
    cli = joined(clis)
    if "eval metric" in cli.out:
        cli = but(cli, "eval computed its metrics before finding it could not write them")
    elif not all(c.code == 2 for c in clis):
        cli = but(cli, f"exit codes {[c.code for c in clis]}: both commands must refuse")
    return error(cli, "read-only file system", "--out FILE", "results", "report")


@case("run dir")
def read_only_run_dir_resume_stops_before_training(ctx):
    run = ctx.trained()
    b = sum((["-b", x] for x in TINY), [])
    cli = joined(in_read_only(ctx, run, ["run", RECIPE, "--run-dir", run, "--steps", 3, *b]))
    if "done" in cli.out:
        cli = but(cli, "trained on a run dir it could not write")
    return error(cli, str(run), "read-only file system")
