"""Write the measured tables of the docs from the records the runs wrote.

docs/results.md from what experiments/ablation.py wrote (results/<table>/*.json);
docs/performance.md from what the benchmarks wrote with --out (results/benchmarks/**/*.json,
experiments/performance_tables.py); docs/reliability.md from the battery's records (results/battery/*.json,
experiments/battery_tables.py).
Every table lives between `<!-- table:NAME -->` and `<!-- /table:NAME -->` in its doc and is
rebuilt from those records; nothing in those tables is typed by hand.

    python experiments/tables.py            # rewrite the three docs in place
    python experiments/tables.py --check    # exit 1 if a doc is not what the records give
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))
import battery_tables  # noqa: E402
import performance_tables  # noqa: E402
from ablation import GEN_STEPS, LABEL_FRACTIONS, LABELLED, PAPER, SCREEN, VARIANTS  # noqa: E402  (what a row is read against)

SIZES = (64, 128, 256, 512, 1024, 2048)


def records(table: str) -> list[dict]:
    rows = []
    for path in sorted((REPO / "results" / table).glob("*.json")):
        row = {"table": table, **json.loads(path.read_text())}  # a record kept from another table says so
        # Runs made before ablation.py ran the scikit-learn probe itself have it beside them.
        side = REPO / "results" / "independent" / path.name
        if "independent" not in row and side.is_file():
            row["independent"] = json.loads(side.read_text())
        rows.append(row)
    # The literal paper first: every other row reads against it.
    return sorted(rows, key=lambda r: (not r["name"].endswith("/paper"), r["name"]))


#: Values renamed when the category metrics moved to the semantic classifier (issue 22); older records keep the old names.
RENAMED = {"agreement_label": "agreement", "fraction_of_real_accuracy": "fraction_of_real",
           "classifier_accuracy": "real/accuracy"}


def _renamed(key: str) -> str:
    head, _, last = key.rpartition("/")
    return f"{head}/{RENAMED[last]}" if head and last in RENAMED else RENAMED.get(key, key)


def metric(record: dict, name: str) -> dict:
    values = record["eval"].get("metrics", {}).get(name, {}).get("values", {})
    return {_renamed(k): v for k, v in values.items()}


def fmt(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def probe_cell(record: dict, name: str, kind: str, n: int) -> float | None:
    values = metric(record, name)
    keys = [k for k in values if k.startswith(f"{kind}/") and not k.endswith("_std")]
    # Set probes are capped at the training objects (480 here): "set/480" stands for 512 and up.
    sized = {int(k.split("/")[1]): values[k] for k in keys}
    if n in sized:
        return sized[n]
    capped = [s for s in sized if s < n]
    return sized[max(capped)] if capped and max(capped) == max(sized) and n > max(sized) else None


def changes(record: dict, baseline: list[str]) -> str:
    extra = [b for b in record["bindings"] if b not in baseline]
    # Later bindings win in gin: show each parameter once, with its final value.
    final: dict[str, str] = {}
    for b in extra:
        final[b.split("=")[0].strip()] = b
    if not final and not record["bindings"]:  # no bindings at all: the recipe as it ships
        return f"`{record['recipe']}` as shipped"
    return "<br>".join(f"`{b}`" for b in final.values()) or "paper, literal (Eq. 8 + R on E, mean)"


def margin(record: dict) -> str:
    c = record.get("curves", {})
    if "critic/margin/mean" not in c:
        return "—"
    return f"{c['critic/margin/mean']:.2f} [{c['critic/margin/min']:.2f}, {c['critic/margin/max']:.2f}]"


def independent(record: dict) -> str:
    ind = record.get("independent")
    if not ind:
        return "—"
    return (f"{fmt(ind.get('trained/256'))} / {fmt(ind.get('trained/2048'))} vs "
            f"{fmt(ind.get('untrained/256'))} / {fmt(ind.get('untrained/2048'))}")


def ablation_table(table: str) -> str:
    rows = records(table)
    if not rows:
        return "_no records yet_"
    baseline = PAPER + SCREEN
    head = ("| variant (bindings over the literal paper) | image probe 256 / 2048 | untrained 256 / 2048 "
            "| set probe 256 / 480 | untrained set | recon agreement % (÷ classifier) | diversity LPIPS "
            "| sklearn probe 256 / 2048: trained vs untrained "
            "| FID gen | D(real) − D(fake), last 20 % | reg. L1 (last 20 %) |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        ra = metric(r, "recon_agreement")
        div = metric(r, "diversity")
        fid = metric(r, "fid_gen").get("fid")
        reg = r.get("curves", {}).get("critic/regulariser/mean", r.get("curves", {}).get("generator/regulariser/mean"))
        lines.append("| " + " | ".join([
            f"**{r['name'].split('/')[-1]}**<br>{changes(r, baseline)}",
            f"{fmt(probe_cell(r, 'probe', 'image', 256))} / {fmt(probe_cell(r, 'probe', 'image', 2048))}",
            f"{fmt(probe_cell(r, 'probe_random', 'image', 256))} / {fmt(probe_cell(r, 'probe_random', 'image', 2048))}",
            f"{fmt(probe_cell(r, 'probe', 'set', 256))} / {fmt(probe_cell(r, 'probe', 'set', 512))}",
            f"{fmt(probe_cell(r, 'probe_random', 'set', 256))} / {fmt(probe_cell(r, 'probe_random', 'set', 512))}",
            in_class(ra),
            fmt(div.get("lpips"), 3) if div else "—",
            independent(r),
            fmt(fid),
            margin(r),
            fmt(reg, 3),
        ]) + " |")
    return "\n".join(lines) + "\n\n" + commands(rows)


def shipped_changes(record: dict) -> str:
    """The bindings a generation record adds to its shipped recipe (at 16 px for the screens), after the copy of the
    recipe it ran on where experiments/ablation.py now names one (experiments/recipes/), or its own label."""
    if "label" in record:
        return record["label"]
    extra = [b for b in record["bindings"] if b not in SCREEN]
    size = " at 16 px" if any(b in SCREEN for b in record["bindings"]) else ""
    # A run whose recipe has since changed names the copy of the recipe it ran on (experiments/recipes/).
    ran_on = VARIANTS.get(record.get("ran_as", record["name"]), (record["recipe"],))[0]
    if ran_on != record["recipe"]:
        return "<br>".join([f"on `{ran_on}`{size}", *(f"`{b}`" for b in extra)])
    return "<br>".join(f"`{b}`" for b in extra) or f"`{record['recipe']}` as shipped{size}"


def in_class(values: dict) -> str:
    """A category metric's agreement % and, in brackets, its fraction of the classifier's real accuracy; — if absent."""
    return f"{fmt(values.get('agreement'))} ({fmt(values.get('fraction_of_real'), 2)})" if values else "—"


def generation_table(table: str, also: tuple[dict, ...] = ()) -> str:
    """Generation (issue 22): what a model draws, read by the semantic classifier and the GAN-paper
    metrics, each beside its real-data value (`also`: records of other tables to set beside them)."""
    rows = records(table) + [r for r in also if r]
    if not rows:
        return "_no records yet_"
    head = ("| variant (bindings over the shipped recipe) | prior gap: sampling prior / N(0, I) "
            "| generated sets: all 8 agree % (real) | top-class prob. (real) | classes among 48 majorities "
            "| set-recon elements in class % (÷ real acc.) | recon in class % (÷ real acc.) "
            "| chain in class, step 1 → 6 % | set-complete from 2 views % | within-set LPIPS ÷ real "
            "| FID gen (real floor) | image probe 256 / 2048 vs untrained |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        gap, coh, sr = metric(r, "prior_gap"), metric(r, "set_coherence"), metric(r, "set_recon_agreement")
        ra, ch, sc = metric(r, "recon_agreement"), metric(r, "chain_agreement"), metric(r, "set_complete")
        div, fid = metric(r, "set_diversity"), metric(r, "fid_gen")
        last = f"step{int(ch['steps'])}" if ch else ""
        lines.append("| " + " | ".join([
            f"**{r['name'].split('/')[-1]}**<br>{shipped_changes(r)}"
            # A run of another length than its table's (the screens' GEN_STEPS, the recipe's own) says so.
            + (f"<br>`--steps {r['steps']}`" if r.get("steps") not in (None, GEN_STEPS if table == "gen16" else None)
               else "")
            + (f"<br>_{r['note']}_" if "note" in r else ""),
            f"{fmt(gap.get('gap'))} / {fmt(gap.get('normal/gap'), 0)}" if gap else "—",
            f"{fmt(coh.get('coherent'))} ({fmt(coh.get('real/coherent'))})" if coh else "—",
            f"{fmt(coh.get('mean_top_probability'), 2)} ({fmt(coh.get('real/mean_top_probability'), 2)})" if coh else "—",
            f"{fmt(coh.get('majority_classes'), 0)} of {fmt(coh.get('real/majority_classes'), 0)}" if coh else "—",
            in_class(sr),
            in_class(ra),
            f"{fmt(ch.get('step1/agreement'))} → {fmt(ch.get(f'{last}/agreement'))}" if ch else "—",
            in_class(sc),
            fmt(div.get("lpips/ratio"), 2) if div else "—",
            f"{fmt(fid.get('fid'))} ({fmt(fid.get('real_floor'))})" if fid else "—",
            (f"{fmt(probe_cell(r, 'probe', 'image', 256))} / {fmt(probe_cell(r, 'probe', 'image', 2048))} vs "
             f"{fmt(probe_cell(r, 'probe_random', 'image', 256))} / {fmt(probe_cell(r, 'probe_random', 'image', 2048))}")
            if metric(r, "probe") else "—",
        ]) + " |")
    return "\n".join(lines) + "\n\n" + commands(rows)


def by_name(table: str) -> dict[str, dict]:
    return {r["name"].split("/")[-1]: r for r in records(table)}


def inception_probe(record: dict) -> bool:
    """Whether a record's category metrics used the Inception probe of before issue 22 (not the semantic classifier)."""
    found = [metric(record, m) for m in ("recon_agreement", "set_coherence", "chain_agreement")]
    return any(found) and not any("real/coherent" in values for values in found)


def table1() -> str:
    """Paper Table 1 on the shapes: FIDs, reconstruction MSEs, and what keeps semantics."""
    rows = by_name("tables")
    head = ("| model | steps | FID recon ↓ | FID gen ↓ (real floor) | KID gen | precision / recall | MSE Inception | MSE pixel "
            "| recon agreement % (÷ classifier) | diversity LPIPS (random pairs) | chain step 6 agreement % | chain step 6 FID |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, label in (("hbae", "HBAE"), ("vae", "VAE"), ("gan", "GAN"), ("bigan", "BiGAN"), ("set_hbae", "Set-HBAE"),
                        ("set_vae", "Set-VAE")):
        if name not in rows:
            continue
        r = rows[name]
        mse, ra, div, ch = (metric(r, m) for m in ("recon_mse", "recon_agreement", "diversity", "chain_agreement"))
        fid, kid, pr = (metric(r, m) for m in ("fid_gen", "kid_gen", "precision_recall"))
        last = f"step{int(ch['steps'])}" if ch else ""
        label += " (category metrics: Inception probe, before issue 22)" if inception_probe(r) else ""
        lines.append("| " + " | ".join([
            label, str(int(r["curves"].get("steps", 0))),
            fmt(metric(r, "fid_recon").get("fid")),
            f"{fmt(fid.get('fid'))} ({fmt(fid.get('real_floor'))})" if "real_floor" in fid else fmt(fid.get("fid")),
            fmt(kid.get("kid"), 3) if kid else "—",
            f"{fmt(pr.get('precision'), 2)} / {fmt(pr.get('recall'), 2)}" if pr else "—",
            fmt(mse.get("feature"), 3), fmt(mse.get("pixel"), 4),
            in_class(ra),
            f"{fmt(div.get('lpips'), 3)} ({fmt(div.get('lpips_random_pair'), 3)})" if div else "—",
            fmt(ch.get(f"{last}/agreement")) if ch else "—",
            fmt(ch.get(f"{last}/fid")) if ch else "—",
        ]) + " |")
    # The supervised record is Table 2's alone (its command is under that table).
    return "\n".join(lines) + "\n\n" + commands(r for name, r in rows.items() if name != "supervised")


def noted(record: dict) -> str:
    """A record's note in brackets after the command it annotates (a renamed or moved record says so), or nothing."""
    return f" ({record['note']})" if "note" in record else ""


def commands(rows) -> str:
    items = "\n".join(
        f"- `python experiments/ablation.py {r.get('ran_as', r['name'])} --table {r.get('table', '?')}`"
        f"{noted(r)}: training "
        f"{r['train_seconds'] / 60:.1f} min, evaluation {r['eval_seconds'] / 60:.1f} min (`{r['eval_command'].split(' --metrics ')[1]}`)"
        for r in rows)
    return f"<details><summary>commands and wall times (the records keep the full command lines)</summary>\n\n{items}\n\n</details>"


def supervised_label(values: dict) -> str:
    """How the supervised row was trained, from its record: early stopping (and its seeds), or a fixed step count."""
    seeds = int(values.get("seeds", 1))
    how = "early stopping on a validation split" if "max_steps" in values else f"{int(values.get('steps', 0))} steps"
    return f"supervised (same encoder, {how}, {seeds} seed{'s' if seeds > 1 else ''})"


def table2() -> str:
    """Paper Table 2 on the shapes: few-shot probe accuracy of frozen codes, mean ± std over seeds."""
    rows = by_name("tables")
    if "supervised" not in rows and "set_hbae" in rows:  # before the early-stopping record: the Set-HBAE run's own
        rows["supervised"] = rows["set_hbae"]
    lines = ["| features | " + " | ".join(str(n) for n in SIZES) + " |", "|---|" + "---|" * len(SIZES)]
    for name, label, metric_name in (("set_hbae", "Set-HBAE", "probe"), ("set_vae", "Set-VAE", "probe"),
                                     ("bigan", "BiGAN", "probe"),
                                     ("set_hbae", "untrained (Set-HBAE architecture)", "probe_random"),
                                     ("supervised", "supervised", "probe_supervised")):
        if name not in rows or not metric(rows[name], metric_name):
            continue
        values = metric(rows[name], metric_name)
        if metric_name == "probe_supervised":
            label = supervised_label(values)
        for kind in ("image", "set"):
            cells = []
            for n in SIZES:
                key = next((k for k in (f"{kind}/{n}",) if k in values), None)
                if key is None:  # set probes stop at the number of training objects
                    capped = sorted(int(k.split("/")[1]) for k in values
                                    if k.startswith(f"{kind}/") and not k.endswith("_std"))
                    key = f"{kind}/{capped[-1]}" if capped and capped[-1] < n and capped[-1] > SIZES[SIZES.index(n) - 1] else None
                spread = f" ± {values[key + '_std']:.1f}" if key is not None and values.get("seeds", 2) > 1 else ""
                cells.append("—" if key is None else f"{values[key]:.1f}{spread}"
                             + (f" ({key.split('/')[1]})" if not key.endswith(f"/{n}") else ""))
            if any(c != "—" for c in cells):
                lines.append(f"| {label} ({kind} code) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + supervised_note(rows.get("supervised"))


def supervised_note(record: dict | None) -> str:
    """Where the early-stopped supervised row stopped, from its record, and where max_steps cut a seed short."""
    values = metric(record, "probe_supervised") if record else {}
    if "max_steps" not in values:
        return ""
    sizes = sorted(int(k.rsplit("/", 1)[1]) for k in values if k.startswith("best_step/image/"))
    where = ", ".join(f"{n}: {values[f'best_step/image/{n}']:.0f} of {values[f'steps_run/image/{n}']:.0f}" for n in sizes
                      if f"steps_run/image/{n}" in values)
    cut = [n for n in sizes if values.get(f"cut_at_max_steps/image/{n}", 0) > 0]
    seeds = int(values.get("seeds", 1))
    cut_text = (f" `max_steps` = {values['max_steps']:.0f} stopped "
                + ", ".join(f"{values[f'cut_at_max_steps/image/{n}']:.0f} of {seeds} at n = {n}" for n in cut)
                + " while validation accuracy was still improving (within the patience window): those seeds might"
                  " have gained from more steps." if cut else f" No seed reached `max_steps` = {values['max_steps']:.0f}"
                  " while still improving.")
    return ("\n\nSupervised row: `python experiments/ablation.py tables/supervised --table tables`, evaluation "
            f"{record['eval_seconds'] / 60:.1f} min (`{record['eval_command'].split(' --metrics ')[1]}`). Step of the best "
            f"validation check, of the steps run (means over seeds), by n — {where}.{cut_text}")


def accuracy_cell(values: dict, key: str) -> str:
    """A probe's accuracy at `key` (e.g. 'set/24'), ± its spread over seeds where there were several; — if absent."""
    if key not in values:
        return "—"
    spread = f" ± {values[key + '_std']:.1f}" if values.get("seeds", 1) > 1 else ""
    return f"{values[key]:.1f}{spread}"


def semi_supervised() -> str:
    """Semi-supervised Set-HBAE (paper §3): few-shot accuracy with as many labels as each fraction holds, against
    the unsupervised Set-HBAE, the Set-VAE and the supervised baseline; then what labels do to generation."""
    rows = by_name("semi16")
    if not rows:
        return "_no records yet_"
    fractions = [name for name in LABEL_FRACTIONS if name in rows or "unsupervised" in rows]
    head = "| codes | " + " | ".join(
        f"{100 * LABEL_FRACTIONS[f]:.0f} % labels: {LABELLED[f][0]} objects / {LABELLED[f][1]} images" for f in fractions)
    lines = [head + " |", "|---|" + "---|" * len(fractions)]

    for kind, at in (("set", 0), ("image", 1)):
        for label, pick, metric_name in (
                ("semi-supervised Set-HBAE, trained with those labels", lambda f: rows.get(f), "probe"),
                ("Set-HBAE, unsupervised", lambda f: rows.get("unsupervised"), "probe"),
                ("Set-VAE, unsupervised", lambda f: rows.get("set_vae"), "probe"),
                ("supervised, same encoder, early stopping", lambda f: rows.get("unsupervised"), "probe_supervised")):
            cells = [accuracy_cell(metric(pick(f), metric_name) if pick(f) else {}, f"{kind}/{LABELLED[f][at]}")
                     for f in fractions]
            if any(c != "—" for c in cells):
                how = ("trained on as many labelled images" if metric_name == "probe_supervised"
                       else f"{kind} code, linear probe on as many labels")
                lines.append(f"| {label} ({how}) | " + " | ".join(cells) + " |")
    gen = ["| run | steps | FID gen ↓ (real floor) | generated sets: all 8 agree % (real) | classes among 48 majorities |",
           "|---|---|---|---|---|"]
    for name in ("unsupervised", *LABEL_FRACTIONS, "set_vae"):
        if name not in rows:
            continue
        r = rows[name]
        fid, coh = metric(r, "fid_gen"), metric(r, "set_coherence")
        gen.append("| " + " | ".join([
            f"**{name}**<br>{shipped_changes(r)}", str(int(r["curves"].get("steps", 0))),
            f"{fmt(fid.get('fid'))} ({fmt(fid.get('real_floor'))})" if fid else "—",
            f"{fmt(coh.get('coherent'))} ({fmt(coh.get('real/coherent'))})" if coh else "—",
            f"{fmt(coh.get('majority_classes'), 0)} of {fmt(coh.get('real/majority_classes'), 0)}" if coh else "—",
        ]) + " |")
    own = [rows[name] for name in ("unsupervised", *LABEL_FRACTIONS, "set_vae") if name in rows]
    return "\n".join(lines) + "\n\n" + "\n".join(gen) + "\n\n" + commands(own)


#: Issue 25's "decide by experiment" (semi16/*): where the same 5 % of labels enter, and the runs without labels beside them.
HEAD_OR_CRITIC = (("labels05", "head: a linear classifier on the set codes (the semi-supervised recipe)"),
                  ("labels05_w10", "head, its cross-entropy at 10 × the recipe's weight (γ = 10)"),
                  ("critic_labels05", "critic: it reads [z, one-hot y], as a cGAN's critic reads its class"),
                  ("critic_labels05_through_g", "critic, and E trained through G's fakes"),
                  ("unsupervised", "no labels (the Set-HBAE recipe)"),
                  ("unsupervised_through_g", "no labels, E trained through G's fakes"))


def head_or_critic() -> str:
    """The same 5 % of labels through a classifier head or through the projection critic: codes and generation."""
    rows = by_name("semi16")
    found = [(name, label) for name, label in HEAD_OR_CRITIC if name in rows]
    if not any(name.startswith("critic") for name, _ in found):
        return "_no records yet_"
    lines = ["| labels enter through | set code, 24 objects | set code, 48 objects | image code, 288 images "
             "| image code, 576 images | FID gen ↓ | generated sets: all 8 agree % (real) | classes among 48 majorities "
             "| critic margin (last fifth) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in found:
        r = rows[name]
        probe, fid, coh = metric(r, "probe"), metric(r, "fid_gen"), metric(r, "set_coherence")
        lines.append("| " + " | ".join([f"**{name}**: {label}",
                                         *(accuracy_cell(probe, key) for key in ("set/24", "set/48", "image/288", "image/576")),
                                         fmt(fid.get("fid")),
                                         f"{fmt(coh.get('coherent'))} ({fmt(coh.get('real/coherent'))})" if coh else "—",
                                         f"{fmt(coh.get('majority_classes'), 0)} of {fmt(coh.get('real/majority_classes'), 0)}"
                                         if coh else "—", margin(r)])
                     + " |")
    # The head and unsupervised runs' commands are under the table above.
    return "\n".join(lines) + "\n\n" + commands([rows[name] for name, _ in found if name not in ("labels05", "unsupervised")])


def criteria() -> str:
    """The checks the HBAE must pass (issue 13), each read off the records of the shipped recipes."""
    rows = by_name("tables")
    out = ["| check | measured | goal | met |", "|---|---|---|---|"]

    def add(check: str, measured: str, goal: str, ok: bool | None) -> None:
        out.append(f"| {check} | {measured} | {goal} | {'—' if ok is None else ('yes' if ok else '**no**')} |")

    sh, h, v = rows.get("set_hbae"), rows.get("hbae"), rows.get("vae")
    if sh:
        trained, untrained = metric(sh, "probe"), metric(sh, "probe_random")
        for kind in ("image", "set"):
            gaps = {k.split("/")[1]: trained[k] - untrained[k] for k in trained
                    if k.startswith(f"{kind}/") and not k.endswith("_std") and k in untrained}
            if gaps:
                worst = min(gaps, key=gaps.get)
                add(f"Set-HBAE {kind} codes − untrained twin, project probe, every n",
                    f"min {gaps[worst]:+.1f} points (n = {worst}); " + ", ".join(f"{n}: {g:+.1f}" for n, g in
                                                                                 sorted(gaps.items(), key=lambda t: int(t[0]))),
                    "≥ +5 at every n", gaps[worst] >= 5)
        ind = sh.get("independent", {})
        if ind:
            gaps = {n: ind[f"trained/{n}"] - ind[f"untrained/{n}"] for n in (256, 2048) if f"trained/{n}" in ind}
            add("Set-HBAE image codes − untrained twin, scikit-learn logistic regression",
                ", ".join(f"n = {n}: {g:+.1f}" for n, g in gaps.items()), "≥ +5 at n = 256 and 2048",
                all(g >= 5 for g in gaps.values()))
    for name, r in (("Set-HBAE", sh), ("HBAE", h)):
        if not r:
            continue
        c = r["curves"]
        if "critic/margin/min" in c:
            add(f"{name}: D(real) − D(fake) over the last 20 % of training",
                f"mean {c['critic/margin/mean']:.2f}, range [{c['critic/margin/min']:.2f}, {c['critic/margin/max']:.2f}]",
                "positive and bounded", c["critic/margin/min"] > 0 and c["critic/margin/max"] < 10)
        ra = metric(r, "recon_agreement")
        if ra:
            add(f"{name}: stochastic reconstructions labelled as their input",
                f"{ra['agreement']:.1f} % = {ra.get('fraction_of_real', float('nan')):.2f} × the classifier's "
                f"{ra['real/accuracy']:.1f} % on real images", "≥ 0.8 ×", ra.get("fraction_of_real", 0) >= 0.8)
        ch = metric(r, "chain_agreement")
        if ch:
            t = int(ch["steps"])
            add(f"{name}: Markov chain step {t} vs step 1",
                f"agreement {ch['step1/agreement']:.1f} → {ch[f'step{t}/agreement']:.1f} %, FID "
                f"{ch['step1/fid']:.1f} → {ch[f'step{t}/fid']:.1f}, classes {ch['step1/classes']:.0f} → {ch[f'step{t}/classes']:.0f}, "
                f"top class {ch['step1/top_class_percent']:.1f} → {ch[f'step{t}/top_class_percent']:.1f} % (real {ch['real/top_class_percent']:.1f} %)",
                "stays near the data (judged from these numbers and the pictures)", None)
            add(f"{name}: chains collapse to one class?",
                f"step {t}: {ch[f'step{t}/classes']:.0f} of {ch['real/classes']:.0f} classes predicted, the largest holds "
                f"{ch[f'step{t}/top_class_percent']:.1f} %", "no collapse: several classes, none holding most images",
                ch[f"step{t}/classes"] >= ch["real/classes"] / 2 and ch[f"step{t}/top_class_percent"] < 50)
    if h and v:
        fh, fv = metric(h, "fid_gen").get("fid"), metric(v, "fid_gen").get("fid")
        if fh is not None and fv is not None:
            add("HBAE FID gen vs VAE FID gen", f"{fh:.1f} vs {fv:.1f}", "HBAE lower", fh < fv)
        dh, dv = metric(h, "diversity").get("lpips"), metric(v, "diversity").get("lpips")
        if dh is not None and dv is not None:
            add("reconstruction diversity (LPIPS between draws), HBAE vs VAE", f"{dh:.3f} vs {dv:.4f}",
                "HBAE clearly above", dh > 3 * dv)
    return "\n".join(out)


def targets() -> str:
    """Issue 22's generation targets, each read off the records of the shipped recipes (results/tables)."""
    rows = by_name("tables")
    out = ["| model | target | measured | goal | met |", "|---|---|---|---|---|"]

    def add(model: str, target: str, measured: str, goal: str, ok: bool) -> None:
        out.append(f"| {model} | {target} | {measured} | {goal} | {'yes' if ok else '**no**'} |")

    for label, r in (("Set-HBAE", rows.get("set_hbae")), ("HBAE", rows.get("hbae"))):
        if not r or inception_probe(r):  # a record from before the semantic classifier reads on another scale
            continue
        coh, sr, ra = metric(r, "set_coherence"), metric(r, "set_recon_agreement"), metric(r, "recon_agreement")
        ch, div, sc = metric(r, "chain_agreement"), metric(r, "set_diversity"), metric(r, "set_complete")
        if "coherent" in coh and "real/coherent" in coh:
            add(label, "generated sets whose 8 labels agree", f"{coh['coherent']:.1f} % vs real {coh['real/coherent']:.1f} %",
                "≥ 0.5 × real", coh["coherent"] >= 0.5 * coh["real/coherent"])
            add(label, "mean top-class probability of generated elements",
                f"{coh['mean_top_probability']:.2f} vs real {coh['real/mean_top_probability']:.2f}", "≥ 0.8 × real",
                coh["mean_top_probability"] >= 0.8 * coh["real/mean_top_probability"])
            add(label, f"categories among the majority labels of {coh['sets']:.0f} generated sets",
                f"{coh['majority_classes']:.0f} of {coh['real/majority_classes']:.0f}", "≥ 12 of 15",
                coh["majority_classes"] >= 12)
        for name, values in (("set-recon elements", sr), ("stochastic reconstructions", ra), ("set completion from 2 views", sc)):
            if "agreement" in values and "real/accuracy" in values:
                add(label, f"{name} in their input's class",
                    f"{values['agreement']:.1f} % = {values['fraction_of_real']:.2f} × real accuracy {values['real/accuracy']:.1f} %",
                    "≥ 0.8 ×", values["fraction_of_real"] >= 0.8)
        if "step1/agreement" in ch and "real/accuracy" in ch:
            t = int(ch["steps"])
            add(label, "Markov chain: class kept at step 1", f"{ch['step1/agreement']:.1f} % vs real accuracy "
                f"{ch['real/accuracy']:.1f} %", "≥ 0.8 × real accuracy", ch["step1/agreement"] >= 0.8 * ch["real/accuracy"])
            add(label, f"Markov chain: class kept at step {t} vs step 1",
                " → ".join(f"{ch[f'step{i}/agreement']:.1f}" for i in range(1, t + 1) if f"step{i}/agreement" in ch) + " %",
                "step 6 ≥ 0.7 × step 1", ch[f"step{t}/agreement"] >= 0.7 * ch["step1/agreement"])
        if "lpips/ratio" in div:
            add(label, "within-set diversity of generated sets (LPIPS)",
                f"{div['lpips/generated']:.4f} vs real {div['lpips/real']:.4f} = {div['lpips/ratio']:.2f} ×", "≥ 0.5 × real",
                div["lpips/ratio"] >= 0.5)
        ind = r.get("independent", {})
        gaps = {n: ind[f"trained/{n}"] - ind[f"untrained/{n}"] for n in (256, 2048) if f"trained/{n}" in ind}
        if gaps:
            add(label, "codes − untrained twin, scikit-learn logistic regression",
                ", ".join(f"n = {n}: {g:+.1f}" for n, g in gaps.items()), "≥ +10 points at 256 and 2048",
                all(g >= 10 for g in gaps.values()))
    h, g = rows.get("hbae"), rows.get("gan")
    if h and g and not inception_probe(h) and metric(h, "fid_gen") and metric(g, "fid_gen"):
        fh, fg = metric(h, "fid_gen")["fid"], metric(g, "fid_gen")["fid"]
        add("HBAE vs GAN (stretch)", "FID gen", f"{fh:.1f} vs {fg:.1f} (GAN {int(g['curves'].get('steps', 0))} steps, "
            f"HBAE {int(h['curves'].get('steps', 0))})", "HBAE ≤ GAN", fh <= fg)
    return "\n".join(out)


#: How experiments/sampling_diagnostics.py drew, in the table's words.
DRAWING = {"sampled": "as sampled (batch norm on its running statistics)",
           "batch_bn": "as sampled, batch norm on each batch's own statistics",
           "noise_free": "noise-free: z' = 0, the mean image G(0|z)",
           "own_views": "each element redrawn from its own inferred view, G(vᵢ|z): a reconstruction, not a draw",
           "code_views": ("each view drawn given its code (`noise_prior = @priors.conditional_gmm`, fitted on the "
                          "training sets the run's trainer fits its estimates on)"),
           "nearest_views": ("each view drawn given its code by nearest-neighbour resampling (`noise_prior = "
                             "@priors.nearest`: a view of the training set whose code lies nearest, at random)"),
           "set_views": "the views of the training set whose code lies nearest, borrowed whole",
           "tempered_07": "codes from the fitted mixture at temperature 0.7 (`priors.gmm.temperature`)",
           "tempered_05": "codes from the fitted mixture at temperature 0.5",
           "codes_sets1024": ("codes from the mixture (10 components) fitted again after training on 1024 training "
                              "sets (8192 images), where the trainer fits it on 256"),
           "codes_sets1024_gmm20": "codes from a mixture of 20 components fitted again on 1024 training sets",
           "codes_gmm5": "codes from a mixture of 5 components fitted again on the trainer's 256 training sets",
           "estimates_8192": ("every fitted prior (the codes' mixture, the views' nearest neighbours) fitted again on "
                              "1024 training sets, as `Trainer.estimate_images = 8192` would leave it")}
DIAGNOSED = {"set_hbae": "Set-HBAE, `gin/set_hbae_shapes.gin` as shipped",
             "set_hbae_seed0_nearest": ("Set-HBAE, the recipe before bf16 (float32, 3000 steps; "
                                        "`confirm/set_hbae_seed0_nearest`)"),
             "set_hbae_match05": "Set-HBAE, the recipe before the views (`confirm/set_hbae_match05`)",
             "set_hbae_views_cgmm": ("Set-HBAE, the shipped recipe with its views drawn from a mixture given the code "
                                     "(`confirm/set_hbae_views_cgmm`, seed 0)"),
             "hbae": "HBAE, `gin/hbae_shapes.gin` as shipped (bf16 autocast, 3000 steps)",
             "hbae_seed0": "HBAE, the recipe before bf16 (float32, 2000 steps; `confirm/hbae_seed0`)",
             "set_vae": "Set-VAE, `gin/set_vae_shapes.gin` as shipped (the control)",
             "set_hbae_views_within": "Set-HBAE, R on within-set views (`confirm/set_hbae_views_within`, not adopted)",
             "set_hbae_views_within_steps3000": "Set-HBAE, R on within-set views, 3000 steps "
                                                "(`confirm/set_hbae_views_within_steps3000`, not adopted)",
             "set_hbae_views_within_steps3000_given_code": "the same run, its views drawn given the code",
             "set_hbae_views_within_steps3000_dwide64_given_code": (
                 "Set-HBAE, R on within-set views, 3000 steps, critic width 64, its views drawn given the code "
                 "(`confirm/set_hbae_views_within_steps3000_dwide64`: the shipped recipe's training, seed 0)"),
             "set_hbae_views_within_steps3000_dwide64_cgmm_seed1": (
                 "the same recipe, seed 1, sampling its views given the code (`noise_prior = @priors.conditional_gmm`; "
                 "`confirm/set_hbae_views_within_steps3000_dwide64_cgmm_seed1`)"),
             "set_hbae_views_within_steps3000_dwide64_cgmm_seed1_nearest": "the same run (seed 1)",
             "set_hbae_tempered": "Set-HBAE, the recipe before bf16 (seed 0), its codes at a temperature",
             "set_hbae_seed1_tempered": "the same recipe, seed 1 (`confirm/set_hbae_seed1_nearest`)",
             "set_hbae_seed2_tempered": "the same recipe, seed 2 (`confirm/set_hbae_seed2_nearest`)",
             "set_hbae_code_refits": ("Set-HBAE, `gin/set_hbae_shapes.gin` as shipped, its code mixture fitted again "
                                      "(62 generated sets, n = 500)"),
             "set_hbae_code_refits_n2000": "the same run, read on 250 generated sets (n = 2000)"}


def sampling_diagnostics() -> str:
    """One checkpoint per recipe drawn several ways (experiments/sampling_diagnostics.py): where is the object lost?"""
    head = ("| run | drawn | set-recon elements in class % (÷ real acc.) | recon in class % (÷ real acc.) "
            "| generated sets: all 8 agree % (real) | top-class prob. (real) | classes among the majorities "
            "| within-set LPIPS ÷ real | set-complete from 2 views % | chain in class, step 1 → 6 % |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    found = {path.stem: json.loads(path.read_text()) for path in sorted((REPO / "results" / "diagnostics").glob("*.json"))}
    if not found:
        return "_no records yet_"
    for name, label in DIAGNOSED.items():
        modes = found.get(name, {}).get("modes", {})
        for mode, results in ((m, modes[m]) for m in DRAWING if m in modes):
            values = {m: results["metrics"].get(m, {}).get("values", {}) for m in results["metrics"]}
            coh, ch, div = values.get("set_coherence"), values.get("chain_agreement"), values.get("set_diversity")
            last = f"step{int(ch['steps'])}" if ch else ""
            cells = [in_class(values.get("set_recon_agreement")), in_class(values.get("recon_agreement")),
                     f"{fmt(coh.get('coherent'))} ({fmt(coh.get('real/coherent'))})" if coh else "—",
                     f"{fmt(coh.get('mean_top_probability'), 2)} ({fmt(coh.get('real/mean_top_probability'), 2)})"
                     if coh else "—",
                     f"{fmt(coh.get('majority_classes'), 0)} of {fmt(coh.get('real/majority_classes'), 0)}" if coh else "—",
                     fmt(div.get("lpips/ratio"), 2) if div else "—",
                     in_class(values.get("set_complete")),
                     f"{fmt(ch.get('step1/agreement'))} → {fmt(ch.get(f'{last}/agreement'))}" if ch else "—"]
            lines.append(f"| {label} | {DRAWING[mode]} | " + " | ".join(cells) + " |")
    commands = sorted({f"`{record['command']}`{noted(record)}" for record in found.values()})
    return "\n".join(lines) + "\n\nCommands: " + "; ".join(commands) + "."


#: The runs whose class_agreement records (results/classes/<name>.json) the two per-category tables read, in column
#: order: the set models (the README job and its seeds 1 and 2; the recipe before bf16 and its seeds 1 and 2; the
#: recipe before the views, its second seed, twice its steps, a generator twice as wide; R on within-set views at 1500
#: and 3000 steps and with a critic twice as wide (two seeds); the Set-VAE),
#: and the single-image models (the HBAE (bf16, 3000 steps) and its seeds 1 and 2, the recipe before bf16 (float32,
#: 2000 steps) and its seed 1, its z' strength from 0,
#: the WAE's plain autoencoder, the VAE).
CLASS_RUNS = {
    "sets": {"set_hbae": "Set-HBAE", "set_hbae_bf16_steps4500_seed1": "Set-HBAE, seed 1",
             "set_hbae_bf16_steps4500_seed2": "Set-HBAE, seed 2",
             "set_hbae_seed0_nearest": "Set-HBAE before bf16 (float32, 3000 steps)",
             "set_hbae_seed1_nearest": "the same, seed 1", "set_hbae_seed2_nearest": "the same, seed 2",
             "set_hbae_match05": "Set-HBAE before the views",
             "set_hbae_seed1": "the same, seed 1", "set_hbae_steps3000": "the same, 3000 steps",
             "set_hbae_gwide64": "the same, generator width 64",
             "set_hbae_views_within": "Set-HBAE, R on within-set views",
             "set_hbae_views_within_steps3000": "Set-HBAE, R on within-set views, 3000 steps",
             "set_hbae_views_within_steps3000_dwide64": "Set-HBAE, R on within-set views, 3000 steps, critic width 64",
             "set_hbae_views_within_steps3000_dwide64_cgmm_seed1": "the same, seed 1",
             "set_vae": "Set-VAE"},
    "images": {"hbae": "HBAE", "hbae_bf16_steps3000_seed1": "HBAE, seed 1", "hbae_seed2": "HBAE, seed 2",
               "hbae_seed0": "HBAE before bf16 (float32, 2000 steps)", "hbae_seed1": "the same, seed 1",
               "hbae_strength0": "HBAE, z' strength from 0",
               "wae": "WAE (plain autoencoder)", "vae": "VAE"},
}


def class_table(kind: str) -> str:
    """Per category, real test images and each run's stochastic reconstructions labelled as that category
    (`hbaezoo eval RUN --metrics class_agreement`), with the category its reconstructions are most often taken for."""
    found = {path.stem: json.loads(path.read_text()) for path in sorted((REPO / "results" / "classes").glob("*.json"))}
    labels = CLASS_RUNS[kind]
    runs = [name for name in labels if name in found]
    if not runs:
        return "_no records yet_"
    values = {name: found[name]["metrics"]["class_agreement"]["values"] for name in runs}
    # A category with no test images in a run's sample is absent from its record: the union, in record order.
    categories = list(dict.fromkeys(key.split("/")[0] for name in runs for key in values[name]))
    first = values[runs[0]]
    lines = ["| category | real test images in class % | " + " | ".join(labels[name] for name in runs) + " |",
             "|---" * (2 + len(runs)) + "|"]

    def cell(v: dict, category: str, key: str = "recon") -> str:
        if f"{category}/{key}" not in v:
            return "—"
        instead = [(k.split("/")[-1], share) for k, share in v.items() if k.startswith(f"{category}/as/")]
        taken = " ({} {:.0f})".format(*max(instead, key=lambda pair: pair[1])) if instead and key == "recon" else ""
        return f"{v[f'{category}/{key}']:.0f}{taken}"

    def real(category: str) -> str:
        return next(cell(values[name], category, "real") for name in runs if f"{category}/real" in values[name])

    for category in sorted(categories, key=lambda c: first.get(f"{c}/recon", float("inf"))):
        lines.append(f"| {category} | {real(category)} | "
                     + " | ".join(cell(values[name], category) for name in runs) + " |")
    sizes = {name: int(sum(v for k, v in values[name].items() if k.endswith("/n"))) for name in runs}
    commands = [f"`hbaezoo eval {found[name]['run_dir']} --metrics class_agreement --n {found[name]['n']} "
                f"--out results/classes/{name}.json`{noted(found[name])}" for name in runs]
    read = (f"{sizes[runs[0]]} test images in every run" if len(set(sizes.values())) == 1 else
            "test images read: " + ", ".join(f"{labels[name]} {n}" for name, n in sizes.items()))
    return "\n".join(lines) + (f"\n\nEach cell: % of reconstructions in class (the category they are most often taken "
                               f"for, %); {read}; the real column from the first run that read the category; rows "
                               f"from most to least lost by the first column's run. Commands: ") + "; ".join(commands) + "."


DOCS = {
    REPO / "docs" / "results.md": {
        "criteria": criteria, "screen16": lambda: ablation_table("screen16"),
        "ablation32": lambda: ablation_table("ablation32"), "table1": table1, "table2": table2,
        "recheck": lambda: ablation_table("recheck"), "gen16": lambda: generation_table("gen16"),
        # Full length: the README main job before and after the change the screens picked, and the plain-autoencoder bound.
        "confirm": lambda: generation_table("confirm", also=(by_name("tables").get("set_hbae"),
                                                              by_name("tables").get("hbae"))),
        "generation": lambda: generation_table("generation"), "targets": targets,
        "semi16": semi_supervised, "semi16_critic": head_or_critic, "diagnostics": sampling_diagnostics,
        "classes_sets": lambda: class_table("sets"), "classes_images": lambda: class_table("images")},
    REPO / "docs" / "performance.md": performance_tables.TABLES,
    REPO / "docs" / "reliability.md": battery_tables.TABLES,
}


def render(doc: Path) -> str:
    tables = DOCS[doc]

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in tables:
            raise SystemExit(f"{doc.name} names table '{name}', which experiments/tables.py does not know")
        return f"<!-- table:{name} -->\n{tables[name]()}\n<!-- /table:{name} -->"

    return re.sub(r"<!-- table:(\S+) -->.*?<!-- /table:\1 -->", replace, doc.read_text(), flags=re.S)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    stale = []
    for doc in DOCS:
        new = render(doc)
        if args.check:
            if new != doc.read_text():
                stale.append(doc.name)
        else:
            doc.write_text(new)
            print(f"wrote {doc}")
    if stale:
        print(f"{', '.join(stale)} differ from what results/ gives: run python experiments/tables.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
