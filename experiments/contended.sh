#!/bin/sh
# The OpenMP wait policy on a shared machine: `dmmp bench train --contended`
# under dmmp's own choice (nothing set), OMP_WAIT_POLICY=active and
# OMP_WAIT_POLICY=passive, alternating, ROUNDS times each (default 3); prints
# one line per run: mode, alone and contended samples/s, contended_share.
# usage: experiments/contended.sh [path/to/dmmp] [extra bench options]
set -eu
dmmp=${1:-./dmmp}
[ $# -gt 0 ] && shift
rounds=${ROUNDS:-3}
fig() { sed -n "s/^  $1 *median *\([^ ]*\).*/\1/p"; }
"$dmmp" env | sed -n 's/^cpu: *//p'
echo "mode alone contended share"
i=0
while [ "$i" -lt "$rounds" ]; do
    for mode in default active passive; do
        if [ "$mode" = default ]; then
            out=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$dmmp" bench train --contended "$@")
        else
            out=$(env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=$mode "$dmmp" bench train --contended "$@")
        fi
        echo "$mode $(echo "$out" | fig train_samples_per_s_alone) $(echo "$out" | fig train_samples_per_s_contended) $(echo "$out" | fig contended_share)"
    done
    i=$((i + 1))
done
