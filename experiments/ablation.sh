#!/usr/bin/env bash
# The ablation of MODEL.md: teacher_only, two_tower, three_tower and dmmp,
# each over several seeds, on the synthetic click-bait world unless --data is
# given. Writes OUT/ablation.md, ablation.tex, ablation.csv and ablation.png.
#
#   experiments/ablation.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
#
# --quick: a smaller world (600k impressions), 2 epochs and retrieval over a
# fixed sample of 1000 test users: under 15 minutes on 2 cores.
source "$(dirname "$0")/lib.sh"

quick=0 seeds=3 data="" out=results/ablation
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --seeds) seeds=$2; shift ;;
    --data) data=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ $seeds =~ ^[1-9][0-9]*$ ]] || die "--seeds needs a positive integer (got $seeds)"
mkdir -p "$out"

train_set=()
if [ $quick = 1 ]; then
    train_set=(--set train.epochs=2 --set eval.max_users=1000)
    [ -n "$data" ] || { data=$out/synth_quick.h5; ensure_data "$data" --impressions 600000 --users 10000 --items 3000 --seed 1; }
else
    [ -n "$data" ] || { data=$out/synth.h5; ensure_data "$data" --seed 1; }
fi

start=$(date +%s)
dirs=()
for seed in $(seq 1 "$seeds"); do
    for v in teacher_only two_tower three_tower dmmp; do
        run_variant "$out" "$data" "$v" "$CONFIGS/$v.ini" "$seed" "${train_set[@]}"
        dirs+=("$out/$v/seed$seed")
    done
done
metrics="auc_ctr,auc_ctcvr,click_recall@100,purchase_recall@100,click_ndcg@100,hitrate@100,clickbait@100,exp_conversions@100"
write_reports "$out" ablation "$metrics" "${dirs[@]}"
note "ablation finished in $(( $(date +%s) - start )) s"
cat "$out/ablation.md"
