#!/bin/sh
# Exact top-K retrieval, dmmp against FAISS IndexFlatIP on the same shapes:
# `dmmp bench retrieve --repeat 1` and experiments/faiss_flat_ip.py (one
# warm-up, one timed search of all queries each) alternate ROUNDS times
# (default 3); prints every round, then the medians and their ratio.
# usage: experiments/faiss_compare.sh [path/to/dmmp] [--items N] [--dim D] [--queries Q] [--k K]
# Environment: ROUNDS; OMP_NUM_THREADS (default 2, both sides);
# OMP_WAIT_POLICY (default passive); PYTHON (a python3 that imports faiss);
# FAISS_BLAS: a directory holding the libblas.so.3 FAISS should load (default
# /usr/lib/x86_64-linux-gnu/openblas-pthread when Debian's libopenblas0-pthread
# is installed; "system": the system's libblas.so.3, on Debian the reference
# BLAS unless an optimised one is selected, a far slower FAISS);
# OPENBLAS_CORETYPE=Haswell keeps OpenBLAS to its AVX2 kernels, and is set
# when DMMP_ISA=avx2 (the AVX2-only machine, with ONEDNN_MAX_CPU_ISA=AVX2).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dmmp=./dmmp
case ${1:-} in --*|"") ;; *) dmmp=$1; shift ;; esac
items=1000000 dim=64 queries=1024 k=100
while [ $# -gt 0 ]; do
    case $1 in
    --items) items=$2 ;;
    --dim) dim=$2 ;;
    --queries) queries=$2 ;;
    --k) k=$2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "faiss_compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
rounds=${ROUNDS:-3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export OPENBLAS_NUM_THREADS=$OMP_NUM_THREADS
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$here" diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
export DMMP_COMMIT=${DMMP_COMMIT:-$commit}
python=${PYTHON:-}
if [ -z "$python" ]; then
    for p in python3 /usr/bin/python3; do
        if "$p" -c "import faiss" 2>/dev/null; then python=$p; break; fi
    done
fi
[ -n "$python" ] || { echo "faiss_compare.sh: no python3 imports faiss (Debian: apt-get install python3-faiss)" >&2; exit 2; }
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ -z "${FAISS_BLAS:-}" ] && [ -e "$openblas/libblas.so.3" ]; then FAISS_BLAS=$openblas; fi
[ "${FAISS_BLAS:-}" != system ] || FAISS_BLAS=""
if [ "${DMMP_ISA:-}" = avx2 ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then export OPENBLAS_CORETYPE=Haswell; fi
shape="--items $items --dim $dim --queries $queries --k $k"
fig() { sed -n "s/^  $1 *median *\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-faiss.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "load: $(uptime | sed 's/.*load average: //')"
echo "round dmmp_queries_per_s faiss_queries_per_s"
i=1
while [ "$i" -le "$rounds" ]; do
    # shellcheck disable=SC2086
    "$dmmp" bench retrieve $shape --repeat 1 --gemm-size 256 >"$tmp/dmmp.txt"
    d=$(fig queries_per_s <"$tmp/dmmp.txt")
    # shellcheck disable=SC2086
    if [ -n "${FAISS_BLAS:-}" ]; then
        LD_LIBRARY_PATH=$FAISS_BLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$python" "$here/faiss_flat_ip.py" $shape --threads "$OMP_NUM_THREADS" >"$tmp/faiss.txt"
    else
        "$python" "$here/faiss_flat_ip.py" $shape --threads "$OMP_NUM_THREADS" >"$tmp/faiss.txt"
    fi
    f=$(sed -n 's/^faiss queries_per_s //p' "$tmp/faiss.txt")
    echo "$i $d $f"
    echo "$d" >>"$tmp/d"
    echo "$f" >>"$tmp/f"
    i=$((i + 1))
done
echo "dmmp: $(head -n 1 "$tmp/dmmp.txt")"
coretype=""
if [ -n "${FAISS_BLAS:-}" ] && [ -n "${OPENBLAS_CORETYPE:-}" ]; then coretype=", OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"; fi
echo "$(tail -n 1 "$tmp/faiss.txt")$coretype"
if tail -n 1 "$tmp/faiss.txt" | grep -q '/blas/libblas'; then
    echo "note: FAISS ran on the reference BLAS (install libopenblas0-pthread for an optimised one)"
fi
echo "load: $(uptime | sed 's/.*load average: //')"
dm=$(median <"$tmp/d")
fm=$(median <"$tmp/f")
echo "median dmmp $dm queries/s, faiss $fm queries/s, ratio $(awk -v a="$dm" -v b="$fm" 'BEGIN { printf "%.2f", a / b }')"
