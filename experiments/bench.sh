#!/bin/sh
# Runs every benchmark of `dmmp bench` and prints a Markdown table: machine,
# commit, date, each figure with median / min / max, the ratios to the gemm
# ceiling (measured inside the train and retrieve runs themselves) and
# teacher_only's retrieval evaluation as a share of the teacher's forward rate.
#
# usage: experiments/bench.sh [-o report.md] [-5 figures.h5] [-q]
#   -o FILE   write the Markdown table to FILE instead of stdout
#   -5 FILE   also keep the figures as HDF5 (one group per benchmark)
#   -q        quick: fewer repeats and smaller sizes (a smoke run, not a measurement)
# Environment: DMMP (the dmmp binary; default ./dmmp, then dmmp on PATH),
# CONFIG (default experiments/configs/bench_default.ini beside this script).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=""
h5=""
quick=0
while getopts "o:5:qh" opt; do
    case $opt in
    o) out=$OPTARG ;;
    5) h5=$OPTARG ;;
    q) quick=1 ;;
    h) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [-o report.md] [-5 figures.h5] [-q]" >&2; exit 2 ;;
    esac
done

dmmp=${DMMP:-}
if [ -z "$dmmp" ]; then
    if [ -x ./dmmp ]; then dmmp=./dmmp; else dmmp=dmmp; fi
fi
config=${CONFIG:-$here/configs/bench_default.ini}
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$here" diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
export DMMP_COMMIT=$commit
export DMMP_LOG=${DMMP_LOG:-warn}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-bench-sh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
h5out=${h5:-$tmp/figures.h5}

if [ $quick = 1 ]; then
    gemm_args="--size 1024 --repeat 3"
    train_args="--steps 3 --warmup 2 --repeat 3 --gemm-size 1024"
    retrieve_args="--items 100000 --repeat 3 --gemm-size 1024"
    teacher_args="--items 1000 --users 4 --steps 4 --repeat 3"
    data_args="--rows 20000 --repeat 2"
else
    gemm_args=""
    train_args=""
    retrieve_args=""
    teacher_args=""
    data_args=""
fi

# shellcheck disable=SC2086
"$dmmp" bench gemm $gemm_args --out "$h5out" >"$tmp/gemm.txt"
# shellcheck disable=SC2086
"$dmmp" bench train --config "$config" $train_args --out "$h5out" >"$tmp/train.txt"
# shellcheck disable=SC2086
"$dmmp" bench retrieve $retrieve_args --out "$h5out" >"$tmp/retrieve.txt"
# shellcheck disable=SC2086
"$dmmp" bench teacher --config "$config" $teacher_args --out "$h5out" >"$tmp/teacher.txt"
# shellcheck disable=SC2086
"$dmmp" bench data $data_args --out "$h5out" >"$tmp/data.txt"

# The first line of each output: "machine M, isa I, T threads, commit C, DATE".
header=$(head -n 1 "$tmp/gemm.txt")

table() {
    # Figure lines: "  name median X min Y max Z unit"; notes have no "median".
    awk -v bench="$1" '
        $2 == "median" && $4 == "min" && $6 == "max" {
            unit = $8; for (i = 9; i <= NF; i++) unit = unit " " $i
            printf "| %s | %s | %s | %s | %s | %s |\n", bench, $1, $3, $5, $7, unit
        }' "$tmp/$1.txt"
}

notes() {
    awk -v bench="$1" 'NR > 3 && $2 != "median" { name = $1; $1 = ""; sub(/^ /, ""); printf "- %s %s: %s\n", bench, name, $0 }' "$tmp/$1.txt"
}

ratio() {
    awk -v want="$2" '$1 == want { print $3 }' "$tmp/$1.txt"
}

report() {
    echo "# DMMP benchmarks"
    echo
    echo "- openmp: $(sed -n 2p "$tmp/gemm.txt" | sed 's/^openmp //')"
    echo "$header" | sed 's/^machine /- machine: /; s/, isa /\n- isa: /; s/, \([0-9]*\) threads, commit /\n- threads: \1\n- commit: /; s/, \([0-9T:-]*Z\)$/\n- date: \1/'
    echo
    echo "| benchmark | figure | median | min | max | unit |"
    echo "|---|---|---|---|---|---|"
    for b in gemm train retrieve teacher data; do table $b; done
    echo
    echo "Ratios to the gemm ceiling measured in the same run (median of per-round ratios):"
    echo
    echo "- training step: $(ratio train train_share_of_gemm)"
    echo "- forward only: $(ratio train forward_share_of_gemm)"
    echo "- exact top-K retrieval: $(ratio retrieve share_of_gemm)"
    echo
    echo "teacher_only's retrieval evaluation (every user-item pair through the teacher) as a share of"
    echo "the teacher's forward rate, measured in the same run: $(ratio teacher teacher_eval_share_of_forward)"
    echo
    echo "Shapes and settings:"
    echo
    for b in gemm train retrieve teacher data; do notes $b; done
}

if [ -n "$out" ]; then report >"$out"; else report; fi
