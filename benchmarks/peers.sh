#!/usr/bin/env bash
# Against peers: make .venv-peers (pythae and torch-mimicry beside hbaezoo; never hbaezoo's own
# dependencies) on first use, then run benchmarks/peers.py with the given arguments.
#
#   bash benchmarks/peers.sh [--steps 30] [--rounds 5] [--only vae gan cgan]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
env="$repo/.venv-peers"
# (Found, not imported: torch-mimicry only imports with the stand-ins peers.py provides.)
ready='import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("pythae", "torch_mimicry", "hbaezoo")))'
if [ ! -x "$env/bin/python" ] || ! "$env/bin/python" -c "$ready" 2>/dev/null; then
  python3 -m venv "$env"
  "$env/bin/pip" install -q torch==2.14.1 torchvision==0.29.1
  "$env/bin/pip" install -q -e "$repo" pythae==0.1.2
  # torch-mimicry 0.1.16 lists TensorFlow (for its Inception metrics only) and dev tools among its
  # requirements; install it without them, plus what its training code imports.
  "$env/bin/pip" install -q --no-deps torch-mimicry==0.1.16
  "$env/bin/pip" install -q six scipy scikit-image requests pandas lmdb future psutil tensorboard
fi
cd "$repo/benchmarks"
exec "$env/bin/python" peers.py "$@"
