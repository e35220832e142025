#!/usr/bin/env bash
# The finer ablations of DMMP: the full model against dmmp without the user
# preference gate, without distillation, with fixed loss weights, and without
# the teacher's auxiliary tasks. Writes OUT/finer_ablations.md, .tex, .csv, .png;
# on a world with purchase intent also OUT/gate.md, .tex, .csv: the gate
# diagnostics and the per-intent-quartile metrics, with a row dmmp_mean_gate
# (every dmmp run again with each user's gate at the users' mean).
#
#   experiments/finer_ablations.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
#                                  [--intent-spread S]
source "$(dirname "$0")/lib.sh"

parse_args 10 results/finer_ablations "$@"

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
metrics="auc_ctr,auc_ctcvr,click_recall@100,purchase_recall@100,clickbait@100,exp_conversions@100,personal_utility@100"
write_reports "$out" finer_ablations "$metrics" "${dirs[@]}"
cat "$out/finer_ablations.md"
if has_intent; then
    gate="personal_utility@100,gate_intent_corr,gate_w_v_p10,gate_w_v_p50,gate_w_v_p90"
    gate+=",gate_w_v_mean_intent_q1,gate_w_v_mean_intent_q4,personal_utility@100_intent_q1,personal_utility@100_intent_q4"
    gate+=",click_recall@100_intent_q1,purchase_recall@100_intent_q4,clickbait@100_intent_q1"
    for f in md latex csv; do
        ext=$f; [ $f = latex ] && ext=tex
        "$DMMP" report "${dirs[@]}" --data "$data" --format $f --metrics "$gate" --mean-gate-rows --out "$out/gate.$ext"
    done
    note "wrote $out/gate.md, gate.tex, gate.csv"
    cat "$out/gate.md"
fi
