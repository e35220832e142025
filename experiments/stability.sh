#!/usr/bin/env bash
# Long-run stability: trains the dmmp configuration for many epochs on a small
# synthetic dataset and reports the resident memory (RSS) the trainer logs at
# the end of every epoch (the rss_mb series of results.h5; "rss N MB" on the
# epoch log line). A run warms up first (allocator arenas, lazily touched
# pages of embedding rows and their moments): RSS rises over the first epochs
# and levels off. A leak keeps climbing at a steady rate, so the verdict looks
# at the second half of the run only. A benchmark, not a unit test: minutes.
#   experiments/stability.sh [--epochs N] [--impressions N] [--threads N] [--out DIR]
# Exit status: 0 flat, 1 RSS grew by more than max(2 MB, 2 %) over the second
# half of the epochs, 2 bad usage.
case ${1:-} in -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

epochs=20 impressions=100000 threads=1 out=results/stability
while [ $# -gt 0 ]; do
    case $1 in
    --epochs) epochs=${2:?--epochs needs a value}; shift ;;
    --impressions) impressions=${2:?--impressions needs a value}; shift ;;
    --threads) threads=${2:?--threads needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ $epochs =~ ^[1-9][0-9]*$ && $epochs -ge 3 ]] || die "--epochs needs an integer >= 3 (got $epochs)"
[[ $impressions =~ ^[1-9][0-9]*$ ]] || die "--impressions needs a positive integer (got $impressions)"
[[ $threads =~ ^[0-9]+$ ]] || die "--threads needs an integer >= 0 (got $threads)"

data=$out/synth_${impressions}.h5
ensure_data "$data" --impressions "$impressions" --users 2000 --items 600 --seed 1
run=$out/run
rm -rf "$run"
note "training dmmp for $epochs epochs ($impressions impressions, $threads threads)"
# No early stopping: every epoch runs, so the series is as long as asked.
"$DMMP" train --config "$CONFIGS/dmmp.ini" --data "$data" --out "$run" --threads "$threads" \
    --set train.epochs="$epochs" --set train.early_stopping_metric=none --set train.log_every=0 \
    >"$out/train.out" 2>&1 || { cat "$out/train.out" >&2; die "dmmp train failed"; }

awk -v epochs="$epochs" '
    / epoch [0-9]+\/[0-9]+ done: / {
        for (i = 1; i <= NF; i++) {
            if ($i == "epoch") { split($(i + 1), e, "/"); n = e[1] }
            if ($i == "rss") rss[n] = $(i + 1)
        }
    }
    END {
        printf "epoch  rss_mb\n"
        for (k = 1; k <= epochs; k++) printf "%5d  %6s\n", k, (k in rss) ? rss[k] : "?"
        half = int((epochs + 1) / 2)
        if (!(1 in rss) || !(half in rss) || !(epochs in rss)) { print "stability: RSS missing from the log"; exit 1 }
        growth = rss[epochs] - rss[half]
        allowed = rss[half] * 0.02; if (allowed < 2) allowed = 2
        printf "stability: warm-up %d -> %d MB over epochs 1..%d; %d -> %d MB over epochs %d..%d " \
               "(%+d MB, allowed %.1f MB): %s\n", rss[1], rss[half], half, rss[half], rss[epochs], half, epochs,
               growth, allowed, growth <= allowed ? "flat" : "GROWING"
        exit growth <= allowed ? 0 : 1
    }' "$run/train.log"
