"""`hbaezoo report`: one self-contained HTML page of a run (PNG images embedded as base64).

Sections: loss curves from metrics.jsonl (matplotlib, Agg canvas, one panel per phase
prefix such as critic/ or generator/), the newest grid of each mode in samples/, the eval
table from eval/results.json when present, and the run's config.gin.

Every file of a run directory may come from someone else: every value read from one goes
through `esc` on its way into the page, numbers included (a "number" may be a string).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import defaultdict
from pathlib import Path

from hbaezoo.errors import CheckpointError
from hbaezoo.eval.values import as_dict, finite_number
from hbaezoo.paths import check_default_output, check_output_file
from hbaezoo.rundir.layout import RunDir


def esc(value) -> str:
    """Any value as HTML text."""
    return html.escape(str(value))


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


# matplotlib's axis limits overflow to inf near the largest float (a hand-edited 1.7e308); no loss gets there.
PLOTTABLE = 1e300


def _plottable(value) -> bool:
    return finite_number(value) and abs(value) <= PLOTTABLE


def loss_curves(rows: list[dict]) -> tuple[bytes | None, int]:
    """A PNG of every logged scalar against step, one panel per prefix ('critic/loss' -> critic), and how many
    values beyond ±PLOTTABLE were left out."""
    groups: dict[str, dict[str, tuple[list, list]]] = defaultdict(lambda: defaultdict(lambda: ([], [])))
    left_out = 0
    for row in rows:
        for key, value in row.items():
            if key in ("step", "time") or not finite_number(value) or key.endswith("/lr"):
                continue
            if not (_plottable(value) and _plottable(row["step"])):
                left_out += 1
                continue
            key = key.replace("$", r"\$")  # matplotlib reads $...$ in labels as mathtext
            prefix = key.split("/")[0] if "/" in key else "other"
            xs, ys = groups[prefix][key]
            xs.append(row["step"])
            ys.append(value)
    if not groups:
        return None, left_out
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = sorted(groups, key=lambda g: (g == "other", g))
    fig = Figure(figsize=(6.5, 2.6 * len(names)), dpi=100)
    FigureCanvasAgg(fig)
    for i, name in enumerate(names, 1):
        ax = fig.add_subplot(len(names), 1, i)
        for key, (xs, ys) in sorted(groups[name].items()):
            ax.plot(xs, ys, label=key, linewidth=2.0 if key.endswith("/loss") else 1.0)
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue(), left_out


def eval_table(results: dict) -> str:
    results = as_dict(results)
    ex = as_dict(results.get("extractor"))
    head = (f"<p>{esc(results.get('model', ''))} at step {esc(results.get('checkpoint_step'))}; extractor "
            f"<b>{esc(ex.get('name'))}</b> (resize {esc(ex.get('resize', 'n/a'))}; "
            f"weights {esc(ex.get('weights', 'not loaded'))}); n {esc(results.get('n'))}, seed "
            f"{esc(results.get('seed'))}, written {esc(results.get('created', ''))}.</p>")
    rows = []
    for name, entry in as_dict(results.get("metrics")).items():
        entry = as_dict(entry)
        if entry.get("status") != "ok":
            rows.append(f"<tr><td>{esc(name)}</td><td></td><td>n/a ({esc(entry.get('reason', ''))})</td></tr>")
            continue
        for i, (key, value) in enumerate(as_dict(entry.get("values")).items()):
            shown = f"{value:.4g}" if finite_number(value) else esc(value)
            rows.append(f"<tr><td>{esc(name) if i == 0 else ''}</td><td>{esc(key)}</td>"
                        f"<td class=num>{shown}</td></tr>")
    info = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in as_dict(results.get("info")).items())
    return (head + "<table><tr><th>metric</th><th>quantity</th><th>value</th></tr>" + "".join(rows) + "</table>"
            + (f"<ul>{info}</ul>" if info else ""))


STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
img{max-width:100%;image-rendering:pixelated;border:1px solid #ddd}table{border-collapse:collapse}
td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f6f6;padding:1em;overflow:auto}h2{border-bottom:1px solid #ccc}"""


def build_report(run_dir: str | Path) -> str:
    rd = RunDir(run_dir)
    run_dir = rd.path
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a directory; give the run directory `hbaezoo run` wrote.")
    head = (f"<!doctype html><html><head><meta charset=utf-8><title>hbaezoo report: {html.escape(run_dir.name)}"
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(str(run_dir))}</h1>")
    parts = [head]
    rows = rd.read_metrics()
    parts.append("<h2>Training curves</h2>")
    png, left_out = loss_curves(rows)
    parts.append(_img(png, "training curves") if png else "<p>No metrics.jsonl entries yet.</p>")
    if left_out:
        parts.append(f"<p>{left_out} value(s) of metrics.jsonl beyond ±{PLOTTABLE:.0e} left out of the curves.</p>")
    if rows:
        parts.append(f"<p>{len(rows)} logged steps, last step {esc(rows[-1]['step'])}.</p>")
    parts.append("<h2>Latest samples</h2>")
    samples = rd.latest_samples()
    for mode, path in samples.items():
        parts.append(f"<h3>{html.escape(mode)} <small>({html.escape(path.name)})</small></h3>{_img(rd.read_bytes(path), mode)}")
    if not samples:
        parts.append("<p>No sample grids in samples/ yet.</p>")
    results = rd.results
    if results.is_file():
        parts.append("<h2>Evaluation</h2>")
        try:
            parts.append(eval_table(json.loads(rd.read_text(results))))
        except (json.JSONDecodeError, RecursionError) as exc:
            parts.append(f"<p>eval/results.json could not be read: {html.escape(str(exc))}</p>")
    if rd.config.is_file():
        parts.append(f"<h2>Config</h2><details><summary>config.gin</summary><pre>{esc(rd.read_text(rd.config))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report (default RUN_DIR/report.html) and return its path."""
    path = check_output_file(out, "--out") if out else check_default_output(RunDir(run_dir).report, "the report")
    text = build_report(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
