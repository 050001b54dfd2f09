"""docs/performance.md's tables, from the records the benchmarks wrote with --out (results/benchmarks/**/*.json).

Each function returns one markdown table; experiments/tables.py puts it between the doc's
`<!-- table:NAME -->` markers. A record is one run of one benchmark (benchmarks/common.py
`write_record`): its command, machine, date, note and figures. Every record found is a row, so
the same command run on another machine (a GPU) adds its rows beside the CPU's.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "results" / "benchmarks"


def records(benchmark: str) -> list[tuple[str, dict]]:
    """(name relative to results/benchmarks, record) of every record of `benchmark`, by name."""
    found = []
    for path in sorted(ROOT.rglob("*.json")):
        record = json.loads(path.read_text())
        if record.get("benchmark") == benchmark:
            found.append((path.relative_to(ROOT).with_suffix("").as_posix(), record))
    return found


def shape(batch: list) -> str:
    size, set_size = batch
    return f"{size} sets × {set_size}" if set_size else f"{size}"


def bindings(record: dict) -> str:
    return "".join(f" `-b \"{b}\"`" for b in record.get("bindings", []))


def ratio_row(figure: str, name: str, record: dict, result: str, target: str) -> str:
    note = f"; {record['note']}" if record.get("note") else ""
    return f"| {figure} | `{record['command']}` | {record['machine']} ({record['date']}, `{name}`{note}) | {result} | {target} |"


def headline() -> str:
    """The figure per benchmark that has a target: trainer overhead, peers, utilisation, data, FID, start-up, memory."""
    rows = ["| figure | command (from benchmarks/) | machine (date, record) | result | target |",
            "| --- | --- | --- | --- | --- |"]
    for name, r in records("trainer_overhead"):
        rate = r["images_per_s"]
        rows.append(ratio_row(
            f"trainer overhead: `Trainer.train_step` ÷ a minimal hand-written loop, {r['recipe']} ({shape(r['batch'])})",
            name, r, f"**{rate['hbaezoo'] / rate['hand-written']:.3f}** ({rate['hbaezoo']:.1f} vs "
                     f"{rate['hand-written']:.1f} images/s, median of {r['rounds']} rounds)", "≥ 0.97"))
    for name, r in records("peers"):
        for comparison, c in r["comparisons"].items():
            rate = c["images_per_s"]
            loop_only = " (loop only:" + bindings(r) + ")" if r["bindings"] else ""
            rows.append(ratio_row(
                f"against {c['peer']}: whole training runs of {r['steps']} steps, `models.{comparison}` ({c['recipe']}){loop_only}",
                name, r, f"**{rate['hbaezoo'] / rate[c['peer']]:.3f}** ({rate['hbaezoo']:.0f} vs {rate[c['peer']]:.0f} images/s)",
                "≥ 1.0"))
    for name, r in records("utilisation"):
        peaks = ", ".join(f"**{r['achieved_flops'] / peak:.3f}** of {dtype} ({peak / 1e9:.0f} GFLOP/s)"
                          for dtype, peak in r["matmul_peak_flops"].items())
        rows.append(ratio_row(
            f"utilisation: achieved FLOP/s of a {r['recipe']} step ({r['precision']}) ÷ dense matmul FLOP/s of its device{bindings(r)}",
            name, r, f"{peaks}; {r['flops_per_step'] / 1e9:.1f} GFLOP per step at {r['achieved_flops'] / 1e9:.0f} GFLOP/s",
            "GPU, 64 px / 128 ch: ≥ 0.25 of bf16"))
    for name, r in records("data_pipeline"):
        rate = r["images_per_s"]
        consumed = rate["training consumes"]
        rows.append(ratio_row(
            f"data pipeline: images/s delivered ÷ images/s {r['recipe']} training consumes ({consumed:.0f})",
            name, r, f"embedded shapes **{rate['embedded shapes'] / consumed:.0f}×**; VGGFace2-layout folder, 250-px JPEG "
                     f"decode + crop + resize, {r['folder_workers']} workers: **{rate['JPEG folder'] / consumed:.1f}×**",
            "≥ 5"))
    for name, r in records("fid_extraction"):
        rate, fid = r["images_per_s"], r["fid"]
        spread = max(fid.values()) - min(fid.values())
        rows.append(ratio_row(
            f"FID between two folders of {r['n']} images: hbaezoo's feature path ÷ clean-fid's `compute_fid`, same Inception",
            name, r, f"**{rate['hbaezoo (clean)'] / rate['clean-fid']:.3f}** ({rate['hbaezoo (clean)']:.1f} vs "
                     f"{rate['clean-fid']:.1f} images/s); `clean_torch` resize **{rate['hbaezoo (clean_torch)'] / rate['clean-fid']:.3f}**; "
                     f"clean-fid given channels_last too **{rate['hbaezoo (clean)'] / rate['clean-fid, channels_last']:.3f}**; "
                     f"FIDs {min(fid.values()):.4f}, spread {spread:.1e}", "≥ 1.0"))
    for name, r in records("startup"):
        t = r["seconds"]
        rows.append(ratio_row(
            "start-up: `hbaezoo --help` ÷ `python -c \"import torch\"`, fresh interpreters alternating",
            name, r, f"**{t['hbaezoo --help'] / t['import torch']:.3f}** ({t['hbaezoo --help']:.2f} vs "
                     f"{t['import torch']:.2f} s, median of {r['rounds']}); `import hbaezoo` {t['import hbaezoo']:.2f} s, "
                     f"`hbaezoo sample --help` {t['hbaezoo sample --help']:.2f} s (imports torch and the models)", "< 1"))
    for name, r in records("memory"):
        peaks = ", ".join(f"{recipe} {p['rss_mib']:.0f} MiB" + (f" (CUDA {p['cuda_mib']:.0f} MiB)" if "cuda_mib" in p else "")
                          for recipe, p in r["peak_mib"].items())
        rows.append(ratio_row(f"peak memory (RSS) of {r['steps']} training steps", name, r, peaks, "—"))
    return "\n".join(rows)


def switches() -> str:
    """Per record of benchmarks/switches.py: each switch's images/s as a ratio to the defaults, a column per recipe."""
    tables = []
    for name, r in records("switches"):
        recipes = r["recipes"]
        switch_names = list(dict.fromkeys(s for figures in recipes.values() for s in figures["images_per_s"]))
        rows = [f"`{r['command']}` on {r['machine']} ({r['date']}, `{name}`), median of {r['rounds']} alternating rounds:",
                "",
                "| switch | " + " | ".join(f"{recipe} ({shape(f['batch'])})" for recipe, f in recipes.items()) + " |",
                "| --- |" + " --- |" * len(recipes)]
        for switch in switch_names:
            cells = []
            for figures in recipes.values():
                rate = figures["images_per_s"]
                if switch not in rate:
                    cells.append("—")
                elif switch == "defaults":
                    cells.append(f"{rate[switch]:.1f} img/s = 1.000")
                else:
                    cells.append(f"{rate[switch] / rate['defaults']:.3f}")
            rows.append(f"| {switch} | " + " | ".join(cells) + " |")
        tables.append("\n".join(rows))
    return "\n\n".join(tables)


def scaling() -> str:
    """Per record of benchmarks/scaling.py: images/s by resolution (HBAE) and by set size (Set-HBAE)."""
    rows = ["| setting | images/s | relative | record |", "| --- | --- | --- | --- |"]
    for name, r in records("scaling"):
        by_res = r["hbae_images_per_s_by_resolution"]
        base = by_res["16"]
        rows += [f"| HBAE {res} px | {v:.1f} | {v / base:.3f} | `{name}` |" for res, v in by_res.items()]
        by_k = r["set_hbae_images_per_s_by_set_size"]
        base = by_k["1"]
        rows += [f"| Set-HBAE K = {k} (32 px) | {v:.1f} | {v / base:.3f} | `{name}` |" for k, v in by_k.items()]
    return "\n".join(rows)


def compiled() -> str:
    """One row per recipe and record of benchmarks/compiled.py: images/s per mode and the ratio to eager."""
    rows = ["| recipe (batch) | record | machine | rounds (median) | eager img/s | compiled img/s | ratio | reduce-overhead img/s | ratio |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, record in records("compiled"):
        for recipe, figures in record["recipes"].items():
            rate = figures["images_per_s"]
            graphs = rate.get("reduce-overhead")
            note = f": {record['note']}" if record.get("note") else ""
            rows.append(
                f"| {recipe} ({shape(figures['batch'])}){bindings(record)} | {name}{note} | {record['machine']} | "
                f"{record['rounds']} | {rate['eager']:.1f} | {rate['compile']:.1f} | "
                f"**{rate['compile'] / rate['eager']:.3f}** | "
                + (f"{graphs:.1f} | {graphs / rate['eager']:.3f} |" if graphs else "— | — |")
            )
    return "\n".join(rows)


AMP_CURVES = ("critic/regulariser", "critic/divergence", "critic/margin", "generator/adv")


def amp() -> str:
    """bf16 autocast against float32 from the experiments/ablation.py records `amp/*` (results/amp/):
    whole-run wall time, the trainer's logged images/s and the mean of the main logged terms over the
    last fifth of training, FID of samples. The two runs of a pair ran one after the other."""
    rows = ["| recipe | bindings | machine | steps | train s | img/s (last 20 %) | speed vs fp32 | "
            + " | ".join(f"{c} (last 20 %)" for c in AMP_CURVES) + " | FID gen (n) |",
            "| --- |" + " --- |" * (7 + len(AMP_CURVES))]
    # Each float32 run first, its bf16 twin after it.
    for path in sorted((ROOT.parent / "amp").rglob("*.json"), key=lambda p: str(p).replace("_fp32", "_0")):
        r = json.loads(path.read_text())
        fp32_path = path.with_name(path.name.replace("_bf16", "_fp32"))
        fp32 = json.loads(fp32_path.read_text()) if fp32_path.is_file() else None
        rate = r["curves"]["images_per_sec/mean"]
        same_machine = fp32 and fp32["machine"] == r["machine"]
        speed = f"{rate / fp32['curves']['images_per_sec/mean']:.2f}×" if same_machine else "—"
        fid = r["eval"]["metrics"].get("fid_gen", {}).get("values")
        curves = " | ".join(f"{r['curves'][c + '/mean']:.3f}" for c in AMP_CURVES)
        rows.append(f"| {r['recipe']} | {', '.join(f'`{b}`' for b in r['bindings']) or 'none'} | {r['machine']} | "
                    f"{r['steps']} | {r['train_seconds']:.0f} | {rate:.0f} | {speed} | "
                    f"{curves} | " + (f"{fid['fid']:.1f} ({fid['n_samples']:.0f}) |" if fid else "— |"))
    return "\n".join(rows)


TABLES = {"headline": headline, "switches": switches, "scaling": scaling, "compiled": compiled, "amp": amp}
