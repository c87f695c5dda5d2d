#!/usr/bin/env bash
# Train the DCD ablation students of the bundled model from the shipped DCD run's trajectories:
# no step weights (SW), no end-token cross-entropy (CE), and reverse KL in place of forward KL.
# Each run changes one field of training/configs/bundled/dcd.yaml and writes runs/bundled/dcd_block8_NAME/.
# scripts/evaluate_bundled.sh scores every student it finds there.
#
# Usage: scripts/dcd_ablations.sh   (after scripts/train_bundled.sh; two runs at a time)
set -euo pipefail

cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
TRAJECTORIES=runs/bundled/dcd_block8/trajectories
if [ ! -f "$TRAJECTORIES/manifest.json" ]; then
    echo "no trajectories in $TRAJECTORIES: run scripts/train_bundled.sh first" >&2
    exit 1
fi

ablate() {  # NAME FIELD=VALUE
    echo-cxr train dcd --config training/configs/bundled/dcd.yaml "output_dir=runs/bundled/dcd_block8_$1" \
        "trajectories=$TRAJECTORIES" "$2"
}
ablate no_sw step_weights=false &
ablate no_eos eos_loss_weight=0 &
wait
ablate rkl divergence=reverse
