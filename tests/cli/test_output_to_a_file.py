"""With output going to a file (nohup, a batch scheduler), training and eval still report progress.

rich's live bars draw only on a terminal; here the CLI runs as a subprocess whose stdout and
stderr are a file, exactly as in a batch job, and the file must show plain progress lines.
"""

import os
import re
import subprocess
import sys

import pytest

from hbaezoo import progress
from hbaezoo.training.logging import TrainProgress

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def hbaezoo_to_file(args, log):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]),
           "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1"}
    with open(log, "w") as out:
        rc = subprocess.run([sys.executable, "-m", "hbaezoo", *args], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, cwd=REPO, timeout=600).returncode
    text = log.read_text()
    assert rc == 0, text
    return text


def test_training_and_eval_print_plain_progress_lines_to_a_file(tiny, tmp_path):
    bindings = [*tiny, "Trainer.progress = True", "Trainer.log_every = 10"]
    log = hbaezoo_to_file(["run", "gin/hbae_shapes.gin", "--run-dir", str(tmp_path / "run"), "--steps", "40",
                           *sum((["-b", b] for b in bindings), [])], tmp_path / "train.log")
    assert re.findall(r"^train step (\d+)/40 ", log, flags=re.M) == ["10", "20", "30", "40"], log
    line = next(ln for ln in log.splitlines() if ln.startswith("train step 20/40"))
    assert re.search(r"critic -?\d+\.\d{3}.*generator -?\d+\.\d{3}", line), line
    assert re.search(r"\d+ img/s  elapsed \d+:\d\d:\d\d  ETA \d+:\d\d:\d\d$", line), line
    assert "\x1b[" not in log  # no terminal control codes in a log file

    log = hbaezoo_to_file(["eval", str(tmp_path / "run"), "--metrics", "fid_gen", "--extractor", "random_convnet",
                           "--n", "16", "--batch-size", "8"], tmp_path / "eval.log")
    assert re.search(r"^eval metric 1/1 fid_gen \.\.\.$", log, flags=re.M), log
    assert re.search(r"^eval sampling  16/16  \(100%\)", log, flags=re.M), log
    assert re.search(r"^eval metric 1/1 fid_gen: ok in \d+\.\d s", log, flags=re.M), log


def test_a_terminal_gets_the_bar_not_plain_lines(monkeypatch, capsys):
    monkeypatch.setattr(progress, "live", lambda: True)
    with TrainProgress(4, 0, enabled=True) as bar:
        bar.update(2, {"critic/loss": 1.0, "images_per_sec": 10.0})
    assert "train step" not in capsys.readouterr().out
    monkeypatch.setattr(progress, "live", lambda: False)
    with TrainProgress(4, 0, enabled=True) as bar:
        bar.update(1, None)
        bar.update(2, {"critic/loss": 1.0, "images_per_sec": 10.0})
    assert capsys.readouterr().out.splitlines()[0].startswith("train step 2/4  critic 1.000  10 img/s")


def test_plain_progress_prints_on_completion_and_at_most_every_interval(capsys):
    bar = progress.PlainProgress("eval ", every=3600)
    task = bar.add_task("features", total=10)
    for _ in range(5):
        bar.advance(task, 2)
    assert [ln.split("  ")[:3] for ln in capsys.readouterr().out.splitlines()] == [["eval features", "10/10", "(100%)"]]
    bar = progress.PlainProgress(every=0)
    task = bar.add_task("images", total=4)
    for _ in range(4):
        bar.advance(task)
    assert len(capsys.readouterr().out.splitlines()) == 4
