#!/usr/bin/env bash
# Train the bundled default model end to end on the shared public data and copy it into assets/.
#
# Steps: IU X-ray text corpus -> image-text corpus (NIH ChestX-ray14, COVID-19 collection, IU
# images) -> tokenizer -> vision-tower pretraining on image labels -> CPT (ECHO-AR) -> RAD block 8
# (ECHO-Base) -> DCD block 8 (ECHO, one step per block) -> bfloat16 copies in assets/models/.
# Work files go to runs/bundled/ (git-ignored). Nothing is downloaded.
#
# Usage: scripts/train_bundled.sh [SHARED_DATA_DIR]   (default: ../shared/data)
# The training run took about 50 minutes on a 2-core CPU; docs/results.md has the time of each stage.
set -euo pipefail
# One thread per process: the training run shared two cores with other jobs, and two processes
# of two threads each ran up to ten times slower than one thread each.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
WORK=runs/bundled
MODELS=assets/models
mkdir -p "$WORK"

echo-cxr data build --iu "$DATA/iu_xray" --iu-unsplit skip --out "$WORK/iu"
python scripts/bundled_corpus.py --data "$DATA" --iu-corpus "$WORK/iu" --out "$WORK/corpus"
echo-cxr tokenizer build "$WORK/corpus/train.jsonl" "$WORK/corpus/val.jsonl" --out "$WORK/tokenizer" --vocab-size 4000
python scripts/pretrain_vision.py --labels "$WORK/corpus/labels.jsonl" --test "$WORK/corpus/nih_test.jsonl" \
    --tokenizer "$WORK/tokenizer" --out "$WORK/init_vision" --steps 400 --batch-size 16

echo-cxr train cpt --config training/configs/bundled/cpt.yaml
echo-cxr train rad --config training/configs/bundled/rad.yaml
echo-cxr train dcd --config training/configs/bundled/dcd.yaml

python scripts/ship_checkpoint.py "$WORK/dcd_block8/checkpoint" "$MODELS/echo-cxr-small-block8"
python scripts/ship_checkpoint.py "$WORK/rad_block8/checkpoint" "$MODELS/echo-cxr-small-base-block8"
python scripts/ship_checkpoint.py "$WORK/cpt/checkpoint" "$MODELS/echo-cxr-small-ar"
du -sh "$MODELS"/*
