#!/usr/bin/env bash
# The finer ablations of DMMP: the full model against dmmp without the user
# preference gate, without distillation, with fixed loss weights, and without
# the teacher's auxiliary tasks. Writes OUT/finer_ablations.md, .tex, .csv, .png.
#
#   experiments/finer_ablations.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
source "$(dirname "$0")/lib.sh"

parse_args 6 results/finer_ablations "$@"

cfg=$CONFIGS/dmmp.ini
dirs=()
for seed in $(seq 1 "$seeds"); do
    run_variant "$out" "$data" dmmp "$cfg" "$seed" "${train_set[@]}"
    run_variant "$out" "$data" dmmp_no_gate "$cfg" "$seed" "${train_set[@]}" --set student.gate=off
    run_variant "$out" "$data" dmmp_no_kd "$cfg" "$seed" "${train_set[@]}" --set kd.enabled=off
    run_variant "$out" "$data" dmmp_fixed_weights "$cfg" "$seed" "${train_set[@]}" --set weighting.kind=fixed
    run_variant "$out" "$data" dmmp_no_aux "$cfg" "$seed" "${train_set[@]}" --set teacher.aux=off
    for v in dmmp dmmp_no_gate dmmp_no_kd dmmp_fixed_weights dmmp_no_aux; do dirs+=("$out/$v/seed$seed"); done
done
metrics="auc_ctr,auc_ctcvr,click_recall@100,purchase_recall@100,clickbait@100,exp_conversions@100"
write_reports "$out" finer_ablations "$metrics" "${dirs[@]}"
cat "$out/finer_ablations.md"
