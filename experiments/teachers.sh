#!/usr/bin/env bash
# The teacher family table: shared_bottom, mmoe, cgc and ple, each with and
# without the auxiliary pCTR/pCTCVR tasks (teacher.aux), ranking metrics over
# several seeds. Writes OUT/teachers.md, .tex, .csv and .png.
#
#   experiments/teachers.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
source "$(dirname "$0")/lib.sh"

quick=0 seeds=3 data="" out=results/teachers
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --seeds) seeds=$2; shift ;;
    --data) data=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
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

dirs=()
for seed in $(seq 1 "$seeds"); do
    for kind in shared_bottom mmoe cgc ple; do
        run_variant "$out" "$data" "$kind" "$CONFIGS/$kind.ini" "$seed" "${train_set[@]}"
        run_variant "$out" "$data" "${kind}_noaux" "$CONFIGS/$kind.ini" "$seed" "${train_set[@]}" --set teacher.aux=off
        dirs+=("$out/$kind/seed$seed" "$out/${kind}_noaux/seed$seed")
    done
done
write_reports "$out" teachers "auc_ctr,auc_cvr,auc_ctcvr,gauc_ctr,logloss_ctr" "${dirs[@]}"
cat "$out/teachers.md"
