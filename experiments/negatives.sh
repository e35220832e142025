#!/usr/bin/env bash
# Sampled negatives (README: Sampled negatives): two_tower and dmmp with
# student.negatives = none, random, popularity, in_batch (logQ on) and
# in_batch with logQ off, and dmmp with random negatives and kd.on_sampled,
# each over several seeds; then the training cost per step of every mode
# (dmmp bench train on the same dataset). Writes OUT/negatives_two_tower.md,
# negatives_dmmp.md, negatives_kd.md (p against none of the same model, and
# kd.on_sampled on against off), negatives.csv and negatives_cost.md.
#
#   experiments/negatives.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
#
# --quick: the world of 600k impressions, 2 epochs, retrieval over a fixed
# sample of 1000 test users (the design the README's table was run with).
source "$(dirname "$0")/lib.sh"

parse_args 14 results/negatives "$@"

start=$(date +%s)
# name|config|overrides
variants=(
    "two_tower|two_tower.ini|"
    "two_tower_random|two_tower.ini|student.negatives=random"
    "two_tower_popularity|two_tower.ini|student.negatives=popularity"
    "two_tower_in_batch|two_tower.ini|student.negatives=in_batch"
    "two_tower_in_batch_nologq|two_tower.ini|student.negatives=in_batch student.logq_correction=off"
    "dmmp|dmmp.ini|"
    "dmmp_random|dmmp.ini|student.negatives=random"
    "dmmp_popularity|dmmp.ini|student.negatives=popularity"
    "dmmp_in_batch|dmmp.ini|student.negatives=in_batch"
    "dmmp_in_batch_nologq|dmmp.ini|student.negatives=in_batch student.logq_correction=off"
    "dmmp_random_kd_sampled|dmmp.ini|student.negatives=random kd.on_sampled=on"
)
sets_of() { local s=() kv; for kv in $1; do s+=(--set "$kv"); done; echo "${s[@]}"; }

declare -A dirs_of
for seed in $(seq 1 "$seeds"); do
    for v in "${variants[@]}"; do
        IFS='|' read -r name config over <<< "$v"
        # shellcheck disable=SC2046
        run_variant "$out" "$data" "$name" "$CONFIGS/$config" "$seed" "${train_set[@]}" $(sets_of "$over")
        dirs_of[$name]="${dirs_of[$name]:-} $out/$name/seed$seed"
    done
done

metrics="auc_ctr,click_recall@100,purchase_recall@100,clickbait@100,exp_conversions@100,click_recall@20,purchase_recall@20"
report() { # BASE BASELINE VARIANTS...
    local base=$1 baseline=$2 dirs=() v; shift 2
    for v in "$@"; do read -r -a d <<< "${dirs_of[$v]}"; dirs+=("${d[@]}"); done
    "$DMMP" report "${dirs[@]}" --data "$data" --format md --metrics "$metrics" --baseline "$baseline" --out "$out/$base.md"
    note "wrote $out/$base.md"
}
report negatives_two_tower two_tower two_tower two_tower_random two_tower_popularity two_tower_in_batch two_tower_in_batch_nologq
report negatives_dmmp dmmp dmmp dmmp_random dmmp_popularity dmmp_in_batch dmmp_in_batch_nologq dmmp_random_kd_sampled
report negatives_kd dmmp_random dmmp_random dmmp_random_kd_sampled
all=()
for v in "${variants[@]}"; do read -r -a d <<< "${dirs_of[${v%%|*}]}"; all+=("${d[@]}"); done
"$DMMP" report "${all[@]}" --data "$data" --format csv --metrics "$metrics" --baseline dmmp --out "$out/negatives.csv"

# The training cost per step of every mode: the training step alone
# (validation and evaluation not timed), full batches of the same dataset.
cost=$out/negatives_cost.md
{
    echo "| variant | train_samples_per_s | train_cpu_ms_per_step | ms_model_forward | ms_model_backward | inbatch_scores_share_of_gemm |"
    echo "|---|---:|---:|---:|---:|---:|"
} > "$cost"
for v in "${variants[@]}"; do
    IFS='|' read -r name config over <<< "$v"
    # shellcheck disable=SC2046
    b=$("$DMMP" bench train --data "$data" --config "$CONFIGS/$config" $(sets_of "$over") --repeat 3 --steps 10 \
        --commit "$(git -C "$TOP_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)")
    fig() { awk -v k="$1" '$1 == k { print $3 }' <<< "$b"; }
    echo "| $name | $(fig train_samples_per_s) | $(fig train_cpu_ms_per_step) | $(fig ms_model_forward) | $(fig ms_model_backward) | $(fig inbatch_scores_share_of_gemm) |" >> "$cost"
    note "$name: bench train done"
done
echo "$(grep -m1 '^machine' <<< "$b")" >> "$cost"
note "negatives finished in $(( $(date +%s) - start )) s"
cat "$out/negatives_two_tower.md" "$out/negatives_dmmp.md" "$out/negatives_kd.md" "$cost"
