"""Start-up: wall time of `hbaezoo --help` and of `python -c "import torch"`, side by side.

    python benchmarks/startup.py [--rounds 7] [--out X.json --note ...]

Each round starts a fresh interpreter for each command, alternating, so a busy machine slows
both alike; the median of each and their ratio are printed. `hbaezoo --help` imports neither
torch nor any part (tests/cli/test_list_and_version.py), so the ratio says what is left of the
command line's own start-up. Also timed: `import hbaezoo` and `hbaezoo sample --help` (which lists
the registered sampling modes, so imports torch and the models, not the evaluation stack).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import REPO, record_options, write_record

COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "hbaezoo --help": [sys.executable, "-m", "hbaezoo", "--help"],
    "import hbaezoo": [sys.executable, "-c", "import hbaezoo"],
    "hbaezoo sample --help": [sys.executable, "-m", "hbaezoo", "sample", "--help"],
}


def seconds(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    record_options(parser)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache: the first start reads every .pyc from disk
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in median.items():
        print(f"{name:24s} {t:6.3f} s  (median of {args.rounds})")
    ratio = median["hbaezoo --help"] / median["import torch"]
    print(f"hbaezoo --help ÷ import torch: {ratio:.3f}")
    write_record(args, "cpu", rounds=args.rounds, seconds=median)


if __name__ == "__main__":
    main()
