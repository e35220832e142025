#!/usr/bin/env bash
# Why the user gate does (not) personalise: dmmp against dmmp with one of
# the gate's inputs to learning changed at a time, on the synthetic world
# (with purchase intent when --intent-spread is given): the fused target
# nearer to purchases (fuse.conversion_weight 0.9), a larger gate
# (student.gate_dims 64,32), and the gate's per-user bias on the fused logit
# (student.gate_user_bias, not the paper's form). Writes OUT/gate_probes.md,
# .tex, .csv (with dmmp_mean_gate rows) and .png.
#
#   experiments/gate_probes.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
#                              [--intent-spread S]
source "$(dirname "$0")/lib.sh"

parse_args 11 results/gate_probes "$@"

cfg=$CONFIGS/dmmp.ini
dirs=()
for seed in $(seq 1 "$seeds"); do
    run_variant "$out" "$data" dmmp "$cfg" "$seed" "${train_set[@]}"
    run_variant "$out" "$data" dmmp_lambda_0.9 "$cfg" "$seed" "${train_set[@]}" --set fuse.conversion_weight=0.9
    run_variant "$out" "$data" dmmp_gate_64_32 "$cfg" "$seed" "${train_set[@]}" --set student.gate_dims=64,32
    run_variant "$out" "$data" dmmp_gate_user_bias "$cfg" "$seed" "${train_set[@]}" --set student.gate_user_bias=on
    for v in dmmp dmmp_lambda_0.9 dmmp_gate_64_32 dmmp_gate_user_bias; do dirs+=("$out/$v/seed$seed"); done
done
metrics="click_recall@100,purchase_recall@100,clickbait@100,personal_utility@100,gate_w_v_p10,gate_w_v_p50,gate_w_v_p90"
if has_intent; then
    metrics+=",gate_intent_corr,gate_w_v_mean_intent_q1,gate_w_v_mean_intent_q4,purchase_recall@100_intent_q4"
    metrics+=",click_recall@100_intent_q1,personal_utility@100_intent_q1,personal_utility@100_intent_q4"
fi
for f in md latex csv; do
    ext=$f; [ $f = latex ] && ext=tex
    "$DMMP" report "${dirs[@]}" --data "$data" --format $f --metrics "$metrics" --mean-gate-rows --out "$out/gate_probes.$ext"
done
if command -v gnuplot > /dev/null; then "$DMMP" plot "${dirs[@]}" --out "$out/gate_probes.png"; fi
note "wrote $out/gate_probes.md, gate_probes.tex, gate_probes.csv"
cat "$out/gate_probes.md"
