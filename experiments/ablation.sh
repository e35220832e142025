#!/usr/bin/env bash
# The ablation of the DMMP paper: teacher_only, two_tower, three_tower and dmmp,
# each over several seeds, on the synthetic click-bait world unless --data is
# given. Writes OUT/ablation.md, ablation.tex, ablation.csv and ablation.png.
#
#   experiments/ablation.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
#                           [--intent-spread S]
#
# --quick: a smaller world (600k impressions), 2 epochs and retrieval over a
# fixed sample of 1000 test users: under 15 minutes on 2 cores.
# --intent-spread S: the world with per-user purchase intent of spread S.
source "$(dirname "$0")/lib.sh"

parse_args 11 results/ablation "$@"

start=$(date +%s)
dirs=()
for seed in $(seq 1 "$seeds"); do
    for v in teacher_only two_tower three_tower dmmp; do
        run_variant "$out" "$data" "$v" "$CONFIGS/$v.ini" "$seed" "${train_set[@]}"
        dirs+=("$out/$v/seed$seed")
    done
done
metrics="auc_ctr,auc_ctcvr,click_recall@100,purchase_recall@100,click_ndcg@100,hitrate@100,clickbait@100,exp_conversions@100,personal_utility@100"
write_reports "$out" ablation "$metrics" "${dirs[@]}"
note "ablation finished in $(( $(date +%s) - start )) s"
cat "$out/ablation.md"
