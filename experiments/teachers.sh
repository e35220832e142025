#!/usr/bin/env bash
# The teacher family table: shared_bottom, mmoe, cgc and ple, each with and
# without the auxiliary pCTR/pCTCVR tasks (teacher.aux), ranking metrics over
# several seeds. Writes OUT/teachers.md, .tex, .csv and .png.
#
#   experiments/teachers.sh [--quick] [--seeds N] [--data F.h5] [--out DIR]
source "$(dirname "$0")/lib.sh"

parse_args 6 results/teachers "$@"

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
