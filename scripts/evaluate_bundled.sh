#!/usr/bin/env bash
# Evaluate the bundled models in assets/models/ on the held-out data of scripts/train_bundled.sh.
# Writes every eval's samples.jsonl and metrics.json under runs/bundled/eval/ and prints the
# figures that docs/results.md reports. Needs runs/bundled/corpus/ from scripts/train_bundled.sh.
#
# Usage: scripts/evaluate_bundled.sh [SLOW_LIMIT]
# SLOW_LIMIT caps the studies of the slower arms (multi-step and autoregressive decoding); by
# default every study is drafted, which took a few minutes per arm on 2 CPU cores.
set -euo pipefail

cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
SLOW_LIMIT="${1:-}"
CORPUS=runs/bundled/corpus
OUT=runs/bundled/eval
STUDENT=assets/models/echo-cxr-small-block8
TEACHER=assets/models/echo-cxr-small-base-block8
AR=assets/models/echo-cxr-small-ar
mkdir -p "$OUT"

run_eval() {  # NAME MODEL MODE DATA [LIMIT]
    local limit=()
    if [ -n "${5:-}" ]; then limit=(--limit "$5"); fi
    echo "== $1"
    echo-cxr eval --data "$4" --image-root / --model "$2" --modes "$3" --no-semscore "${limit[@]}" --out "$OUT/$1"
}

for lang in en zh; do
    # Held-out NIH images: the default one-step model, the teacher decoded natively in one step
    # and in its own multi-step mode, and the autoregressive model.
    run_eval "nih_${lang}_one_step" "$STUDENT" one-step "$CORPUS/nih_test_${lang}.jsonl"
    run_eval "nih_${lang}_teacher_one_step" "$TEACHER" one-step "$CORPUS/nih_test_${lang}.jsonl"
    run_eval "nih_${lang}_teacher_multi_step" "$TEACHER" multi-step "$CORPUS/nih_test_${lang}.jsonl" "$SLOW_LIMIT"
    run_eval "nih_${lang}_ar" "$AR" ar "$CORPUS/nih_test_${lang}.jsonl" "$SLOW_LIMIT"
    # The IU X-ray R2Gen test studies whose images are here (two studies).
    run_eval "iu_${lang}_one_step" "$STUDENT" one-step "$CORPUS/iu_test_images_${lang}.jsonl"
done

# DCD ablation students from scripts/dcd_ablations.sh, where they exist.
for name in no_sw no_eos rkl; do
    student="runs/bundled/dcd_block8_$name/checkpoint"
    if [ -d "$student" ]; then
        for lang in en zh; do
            run_eval "nih_${lang}_dcd_${name}" "$student" one-step "$CORPUS/nih_test_${lang}.jsonl"
        done
    fi
done

for name in "$OUT"/nih_*; do
    echo "== pneumonia vs no finding: $(basename "$name")"
    python scripts/nih_pneumonia_f1.py "$name/samples.jsonl" "$CORPUS/nih_test.jsonl"
done
for lang in en zh; do
    echo "== ROUGE-L to the teacher's multi-step drafts ($lang)"
    python scripts/compare_drafts.py "$OUT/nih_${lang}_one_step/samples.jsonl" "$OUT/nih_${lang}_teacher_multi_step/samples.jsonl"
    python scripts/compare_drafts.py "$OUT/nih_${lang}_teacher_one_step/samples.jsonl" "$OUT/nih_${lang}_teacher_multi_step/samples.jsonl"
    for name in no_sw no_eos rkl; do
        if [ -d "$OUT/nih_${lang}_dcd_${name}" ]; then
            python scripts/compare_drafts.py "$OUT/nih_${lang}_dcd_${name}/samples.jsonl" "$OUT/nih_${lang}_teacher_multi_step/samples.jsonl"
        fi
    done
done

echo "== IU X-ray literature protocol: constant-report floor"
echo-cxr eval --data ../shared/data/iu_xray/annotation_r2gen.json --floor-only
# Only two R2Gen test studies have images here. Link them under R2Gen's <id>/<n>.png names; the
# eval skips the other 588 studies and counts them.
IU_IMAGES="$(cd ../shared/data/iu_xray/images && pwd)"
mkdir -p "$OUT/r2gen_images/CXR2_IM-0652" "$OUT/r2gen_images/CXR2577_IM-1077"
ln -sf "$IU_IMAGES/CXR2_IM-0652-1001.png" "$OUT/r2gen_images/CXR2_IM-0652/0.png"
ln -sf "$IU_IMAGES/CXR2_IM-0652-2001.png" "$OUT/r2gen_images/CXR2_IM-0652/1.png"
ln -sf "$IU_IMAGES/CXR2577_IM-1077-1001.png" "$OUT/r2gen_images/CXR2577_IM-1077/0.png"
echo "== IU X-ray literature protocol on the test studies with images"
echo-cxr eval --data ../shared/data/iu_xray/annotation_r2gen.json --image-root "$OUT/r2gen_images" \
    --model "$STUDENT" --no-semscore --no-floor --out "$OUT/iu_r2gen_one_step"
# All 590 R2Gen test studies without their images (only 3 of their images are here): each draft
# comes from the indication alone, or from nothing, which gives one constant draft per model.
python scripts/r2gen_indications.py --r2gen ../shared/data/iu_xray/annotation_r2gen.json --iu runs/bundled/iu \
    --out "$CORPUS/r2gen_with_indication.json"
for arm in "one_step $STUDENT one-step" "multi_step $TEACHER multi-step" "ar $AR ar"; do
    set -- $arm
    echo "== IU X-ray literature protocol, no images, indication as clinical context: $3"
    echo-cxr eval --data "$CORPUS/r2gen_with_indication.json" --text-only --model "$2" --modes "$3" \
        --no-semscore --no-floor --out "$OUT/iu_r2gen_text_indication_$1"
    echo "== IU X-ray literature protocol, no images, no indication: $3"
    echo-cxr eval --data ../shared/data/iu_xray/annotation_r2gen.json --text-only --model "$2" --modes "$3" \
        --no-semscore --no-floor --out "$OUT/iu_r2gen_text_only_$1"
done

echo "== IU X-ray literature protocol: floor and ceiling of the normalised report style"
python scripts/iu_style_bounds.py --r2gen ../shared/data/iu_xray/annotation_r2gen.json --iu runs/bundled/iu --out "$OUT/iu_style"
for bound in floor ceiling; do
    echo-cxr eval --data ../shared/data/iu_xray/annotation_r2gen.json --predictions "$OUT/iu_style/style_$bound.jsonl" \
        --no-semscore --no-floor
done

echo "== speed"
echo-cxr bench --model "$STUDENT" --ar-model "$AR" --natural-eos
echo-cxr bench --model "$STUDENT" --ar-model "$AR"
