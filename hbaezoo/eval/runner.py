"""`hbaezoo eval`: run metrics on a trained run, write RUN_DIR/eval/results.json, print a table.

A metric the model cannot support (a GAN has nothing to reconstruct, a dataset without
labels has nothing to probe) raises CapabilityError and is recorded as "n/a" with the
reason; any other error stops the evaluation, with the metrics finished so far already
saved (results.json is rewritten after every metric).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.markup import escape

from hbaezoo.console import err_console
from hbaezoo.errors import CapabilityError, CheckpointError, ConfigError, message
from hbaezoo.eval import extractors as ext
from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.values import as_dict, finite_number
from hbaezoo.files import write_text_atomic
from hbaezoo.paths import check_default_output, check_output_file
from hbaezoo.progress import clock, live, say
from hbaezoo.registry import METRICS
from hbaezoo.rundir.lock import read_run_file
from hbaezoo.scopes import seeded

#: What `hbaezoo eval` computes without --metrics (the supervised baseline trains models: ask for it).
DEFAULT_METRICS = ("fid_recon", "fid_gen", "recon_mse", "diversity", "diversity_prior", "probe", "probe_random",
                   "kid_gen", "precision_recall", "set_diversity", "prior_gap",
                   "set_coherence", "recon_agreement", "chain_agreement", "set_recon_agreement", "set_complete")


def metric_names(spec: str | list[str] | None) -> list[str]:
    """'a,b' / ['a', 'b'] / 'all' / None (the defaults) -> registered metric names, checked."""
    if spec is None or spec == "" or spec == []:
        return [m for m in DEFAULT_METRICS if m in METRICS]
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:  # ",," would evaluate nothing and still say "wrote"
        raise ConfigError(f"--metrics {','.join(spec) if isinstance(spec, list) else spec!r} names no metric. Give "
                          f"names separated by commas, e.g. --metrics probe,fid_gen, or 'all' (`hbaezoo list metrics`).")
    if names == ["all"]:
        return METRICS.names()
    for name in names:
        METRICS.part(name)  # unknown names fail with the closest ones
    return list(dict.fromkeys(names))


def _values(name: str, out) -> dict[str, float]:
    if not isinstance(out, dict):
        raise TypeError(f"metric '{name}' must return dict[str, float], got {type(out).__name__}")
    values = {}
    for key, value in out.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"metric '{name}' returned a non-finite value for '{key}': {value}")
        values[str(key)] = value
    return values


def run_metric(ctx: EvalContext, name: str) -> dict:
    """One metric as recorded in results.json: status ok + values, or status n/a + reason."""
    start = time.perf_counter()
    try:
        with ctx.seeded(f"metric/{name}"):
            values = _values(name, METRICS.get(name)(ctx))
    except CapabilityError as exc:
        return {"status": "n/a", "reason": message(exc), "seconds": round(time.perf_counter() - start, 3)}
    return {"status": "ok", "values": values, "seconds": round(time.perf_counter() - start, 3)}


def _write(path: Path, results: dict) -> None:
    write_text_atomic(path, json.dumps(results, indent=2))


#: What must match for an earlier results file's metrics to be kept beside new ones.
SAME_EVALUATION = ("run_dir", "checkpoint_step", "model", "seed", "n", "set_size", "bindings", "use_ema")


def _well_formed(entry) -> bool:
    """A metric entry as `run_metric` writes it: ok with finite numbers, or n/a with a reason."""
    if not isinstance(entry, dict) or not finite_number(entry.get("seconds", 0)):
        return False
    if entry.get("status") == "n/a":
        return isinstance(entry.get("reason", ""), str)
    values = entry.get("values")
    return (entry.get("status") == "ok" and isinstance(values, dict)
            and all(isinstance(k, str) and finite_number(v) for k, v in values.items()))


def _carry_over(path: Path, results: dict) -> None:
    """Keep the metrics of an earlier evaluation of the same checkpoint with the same settings.

    `hbaezoo eval run --metrics fid_gen` then `--metrics probe` leaves both in results.json;
    metrics asked for again are replaced. An earlier file with other settings (or another
    checkpoint) is not mixed in: it is kept as results-<its time>.json beside the new one.
    """
    if not path.is_file():
        return
    try:
        earlier = json.loads(read_run_file(path).decode("utf-8"))
        same = all(earlier.get(key) == results[key] for key in SAME_EVALUATION)
        same = same and all(earlier.get("extractor", {}).get(k) == results["extractor"][k] for k in ("name", "version"))
    except (CheckpointError, OSError, ValueError, AttributeError):  # unreadable, not a regular file, or not JSON
        earlier, same = None, False
    if same:
        kept_metrics = {k: v for k, v in as_dict(earlier.get("metrics")).items() if _well_formed(v)}
        results["metrics"].update(kept_metrics)
        results["info"].update({k: v for k, v in as_dict(earlier.get("info")).items() if k not in results["info"]})
        if len(kept_metrics) < len(as_dict(earlier.get("metrics"))):
            err_console.print(f"[yellow]note[/] {escape(str(path))} held metric entries that are not what hbaezoo eval "
                              f"writes (a value that is not a number, ...); they were dropped", highlight=False)
        return
    # The time it was written, for the kept file's name: a hostile "created" must not make a path ("/", "..").
    stamp = str((earlier or {}).get("created", "earlier")).replace(":", "").replace("+0000", "")
    stamp = re.sub(r"[^0-9A-Za-z_.-]", "", stamp)
    stamp = stamp.strip(".")[:40] or "earlier"
    kept = path.with_name(f"{path.stem}-{stamp}{path.suffix}")
    os.replace(path, kept)
    err_console.print(f"[yellow]note[/] {escape(str(path))} held another evaluation (other checkpoint or "
                      f"settings); kept as {escape(kept.name)}", highlight=False)


def evaluate(run_dir, *, metrics=None, n: int = 1000, device: str = "auto", seed: int = 0, extractor: str = "auto",
             batch_size: int = 64, bindings=(), plugins=(), use_ema: bool = True, cache: bool = True,
             progress: bool = True, out: str | Path | None = None, trust_config: bool = False) -> dict:
    """Evaluate a run directory; returns what it writes to RUN_DIR/eval/results.json (or `out`)."""
    import gin

    from hbaezoo import config as gin_config
    from hbaezoo.assembly import build_model, factories, versions
    from hbaezoo.rundir.layout import RunDir
    from hbaezoo.rundir.loading import load

    if n < 2:
        raise ConfigError(f"--n must be at least 2 (FID needs two samples per set), got {n}.")
    names = metric_names(metrics)
    chosen = ext.choose(extractor)
    started = time.perf_counter()
    run_dir = Path(run_dir)
    path = check_output_file(out, "--out") if out else check_default_output(RunDir(run_dir).results, "the results")
    loaded = load(run_dir, device=device, use_ema=use_ema, plugins=plugins, trust_config=trust_config)
    model, data, dataset_factory, step = loaded.model, loaded.data, loaded.dataset_factory, loaded.step
    for binding in bindings:  # metric parameters, e.g. -b "metrics.probe.seeds = 5"
        try:
            gin.parse_config(binding)
        except gin_config.PARSE_ERRORS as exc:
            raise gin_config.explain(exc, f"binding -b {binding!r}") from exc
    model_factory, _ = factories("model from the run's config.gin")
    dev = model.device

    def build_untrained(init_seed: int):
        with seeded(init_seed, dev):
            fresh = build_model(data, seed=init_seed, factory=model_factory)
        return fresh.to(dev).eval()

    ctx = EvalContext(
        model=model, dataset_factory=dataset_factory, data=data, n=n, seed=seed, device=dev,
        extractor_name=chosen, set_size=int(data.get("set_size") or 8), batch_size=batch_size,
        cache_dir=ext.features_cache_dir() if cache else None, build_untrained=build_untrained, progress=progress,
    )
    results = {
        "run_dir": str(run_dir),
        "checkpoint_step": step,
        "model": getattr(model, "display_name", type(model).__name__),
        "seed": seed,
        "n": n,
        "device": str(dev),
        "extractor": {"name": chosen, "requested": extractor,
                      "version": getattr(ext.FEATURE_EXTRACTORS.part(chosen).original, "version", 1)},
        "set_size": ctx.set_size,
        "bindings": list(bindings),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "use_ema": use_ema,
        "metrics": {},
        "info": ctx.info,
    }
    _carry_over(path, results)
    plain = progress and not live()
    for i, name in enumerate(names, 1):
        if plain:
            say(f"eval metric {i}/{len(names)} {name} ...")
        results["metrics"][name] = run_metric(ctx, name)
        if plain:
            entry = results["metrics"][name]
            say(f"eval metric {i}/{len(names)} {name}: {entry['status']} in {entry['seconds']:.1f} s  "
                f"elapsed {clock(time.perf_counter() - started)}")
        if "extractor" in ctx._memo:
            results["extractor"].update(ctx.extractor.describe())
        if "real" in ctx._memo:
            results["n_real"] = len(ctx.real_images())
        results["seconds"] = round(time.perf_counter() - started, 3)
        _write(path, results)
    results["path"] = str(path)
    return results


def table(results: dict):
    """The results as a rich Table: metric, quantity, value."""
    from rich.markup import escape
    from rich.table import Table

    ex = results.get("extractor", {})
    title = (f"{results.get('model', '')} @ step {results.get('checkpoint_step')}  [dim]extractor {ex.get('name')}"
             f"{' (resize ' + ex['resize'] + ')' if ex.get('resize') else ''}, n {results.get('n')}, "
             f"seed {results.get('seed')}[/]")
    t = Table(title=title, title_justify="left")
    for column, justify in (("metric", "left"), ("quantity", "left"), ("value", "right"), ("s", "right")):
        t.add_column(column, justify=justify)
    for name, entry in results.get("metrics", {}).items():
        secs = f"{entry.get('seconds', 0):.1f}"
        if entry.get("status") != "ok":
            t.add_row(name, "", f"[yellow]n/a[/] ({escape(entry.get('reason', ''))})", secs)
            continue
        for i, (key, value) in enumerate(entry["values"].items()):
            shown = f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4g}"
            t.add_row(name if i == 0 else "", key, shown, secs if i == 0 else "")
        t.add_section()
    return t
