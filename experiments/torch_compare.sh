#!/bin/bash
# The DMMP joint training step, dmmp against PyTorch on the same shapes:
# `dmmp bench train` (CONFIG, batch 1024, 2 threads) and
# experiments/torch_step.py (the same step in PyTorch: tables, teacher,
# towers, gate, losses, Adam and SparseAdam) alternate ROUNDS times (default
# 5) for each mode of MODES; each run reports the median of INNER timed runs
# of 10 steps after 5 warm-up steps. Prints every round, then a Markdown table
# of the medians over the rounds and their ratio, with the load of each window.
# usage: experiments/torch_compare.sh [path/to/dmmp]
# Environment: ROUNDS (5); INNER (3); MODES ("native avx2"): native: both
# as they come (but for OpenBLAS's kernels on a CPU it does not know: see
# below); avx2: an AVX2-only CPU (dmmp with ONEDNN_MAX_CPU_ISA=AVX2
# DMMP_ISA=avx2; torch with ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA and
# DNNL_MAX_CPU_ISA=AVX2, OPENBLAS_CORETYPE=Haswell); avx512: dmmp as it
# comes, torch forced to AVX-512 kernels (ATEN_CPU_CAPABILITY=avx512,
# OPENBLAS_CORETYPE=SkylakeX); CONFIG (configs/bench_default.ini); THREADS
# (2); BATCH (1024); PYTHON (/usr/bin/python3, a python3 that imports torch;
# without one the script says so and exits 0); OMP_WAIT_POLICY (unset: dmmp
# as it comes, with the spin it times for the CPU, and PyTorch with passive,
# its fastest here: with libgomp's default spin its OpenMP threads and
# OpenBLAS's own threads, 4 on 2 cores, ran it at a quarter of that; set it
# to give both programs the same policy).
# OpenBLAS picks its kernels by CPU model; on a model newer than its table
# it falls back to old SSE3 ones (OpenBLAS 0.3.21 on an Intel Xeon of model
# 207: core Prescott, PyTorch's step at about half its speed). In native
# mode the script then sets OPENBLAS_CORETYPE to the newest kernel set the
# CPU runs (SkylakeX with AVX-512, Haswell with AVX2) and says so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dmmp=$here/../dmmp
case ${1:-} in -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; "") ;; *) dmmp=$1 ;; esac
[ -x "$dmmp" ] || { echo "torch_compare.sh: no dmmp binary at $dmmp (build it first: make dmmp)" >&2; exit 2; }
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch" 2>/dev/null; then
    echo "torch_compare.sh: skipped: $python cannot import torch (Debian: apt-get install python3-torch)"
    exit 0
fi
rounds=${ROUNDS:-5} inner=${INNER:-3} modes=${MODES:-native avx2}
threads=${THREADS:-2} batch=${BATCH:-1024}
config=${CONFIG:-$here/configs/bench_default.ini}
dmmp_wait=${OMP_WAIT_POLICY:-}
torch_wait=${OMP_WAIT_POLICY:-passive}
unset OMP_WAIT_POLICY GOMP_SPINCOUNT
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$here" diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
export DMMP_COMMIT=${DMMP_COMMIT:-$commit}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-torch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fig() { sed -n "s/^  $1 *median *\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# The core OpenBLAS (libblas.so.3, the one PyTorch loads) chose, or nothing
# when libblas.so.3 is not OpenBLAS.
openblas_core() {
    "$python" -c 'import ctypes
so = ctypes.CDLL("libblas.so.3")
so.openblas_get_corename.restype = ctypes.c_char_p
print(so.openblas_get_corename().decode())' 2>/dev/null || true
}
# The OPENBLAS_CORETYPE native mode sets: the CPU's vector ISA when the
# core OpenBLAS chose by itself lacks it, else nothing.
native_blas_core() {
    local core
    core=$(openblas_core | tr '[:upper:]' '[:lower:]')
    [ -n "$core" ] || return 0
    if grep -qw avx512f /proc/cpuinfo; then
        case $core in skylakex|cooperlake|sapphirerapids) ;; *) echo SkylakeX ;; esac
    elif grep -qw avx2 /proc/cpuinfo; then
        case $core in haswell|zen|skylakex|cooperlake|sapphirerapids) ;; *) echo Haswell ;; esac
    fi
}
native_core=$(native_blas_core)

# mode_env MODE WHO: the environment of dmmp or torch in that mode.
mode_env() {
    case $1/$2 in
    native/torch) [ -z "$native_core" ] || echo "OPENBLAS_CORETYPE=$native_core" ;;
    native/dmmp|avx512/dmmp) ;;
    avx2/dmmp) echo "ONEDNN_MAX_CPU_ISA=AVX2 DMMP_ISA=avx2" ;;
    avx2/torch) echo "ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell" ;;
    avx512/torch) echo "ATEN_CPU_CAPABILITY=avx512 OPENBLAS_CORETYPE=SkylakeX" ;;
    *) echo "torch_compare.sh: unknown mode $1 (native, avx2, avx512)" >&2; exit 2 ;;
    esac
}

steps="--steps 10 --warmup 5 --repeat $inner"
echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores, $(grep -q ' avx512f' /proc/cpuinfo && echo AVX-512 || echo AVX2)"
echo "commit: $commit"
libblas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
echo "libblas.so.3: ${libblas:-unknown}"
case $libblas in
*/blas/libblas.so.3)
    # Debian's PyTorch takes its matmuls from libblas.so.3; the reference
    # BLAS ran this step about 15x slower than OpenBLAS did.
    echo "warning: libblas.so.3 is the reference BLAS: PyTorch runs far below its usual speed; for a fair comparison install OpenBLAS (apt-get install libopenblas0-pthread)" >&2 ;;
esac
if [ -n "$native_core" ]; then
    echo "note: OpenBLAS chose core $(openblas_core) on its own, whose kernels do not use this CPU's vector ISA; native mode sets OPENBLAS_CORETYPE=$native_core for PyTorch"
fi
echo "OMP_WAIT_POLICY: dmmp ${dmmp_wait:-unset, dmmp chooses}, torch $torch_wait; $threads threads, batch $batch, $(basename "$config"), $rounds rounds of $inner runs"
rows=()
for mode in $modes; do
    denv=$(mode_env "$mode" dmmp)
    tenv=$(mode_env "$mode" torch)
    l0=$(load)
    echo "mode $mode: dmmp ${denv:-(default environment)}; torch ${tenv:-(default environment)}; load $l0"
    echo "round dmmp_samples_per_s torch_samples_per_s"
    : >"$tmp/d"
    : >"$tmp/t"
    for i in $(seq 1 "$rounds"); do
        # shellcheck disable=SC2086
        env $denv ${dmmp_wait:+OMP_WAIT_POLICY=$dmmp_wait} "$dmmp" bench train --config "$config" --batch "$batch" --threads "$threads" $steps >"$tmp/dmmp.txt"
        # shellcheck disable=SC2086
        env $tenv OMP_WAIT_POLICY="$torch_wait" "$python" "$here/torch_step.py" --config "$config" --batch "$batch" --threads "$threads" $steps >"$tmp/torch.txt"
        d=$(fig train_samples_per_s <"$tmp/dmmp.txt")
        t=$(fig train_samples_per_s <"$tmp/torch.txt")
        if [ -z "$d" ] || [ -z "$t" ]; then
            echo "torch_compare.sh: a run printed no train_samples_per_s" >&2
            cat "$tmp/dmmp.txt" "$tmp/torch.txt" >&2
            exit 2
        fi
        echo "$i $d $t"
        echo "$d" >>"$tmp/d"
        echo "$t" >>"$tmp/t"
    done
    l1=$(load)
    echo "dmmp: $(head -n 1 "$tmp/dmmp.txt"); $(sed -n 's/^  parameters *//p' "$tmp/dmmp.txt"); flops/sample $(fig flops_per_sample_train <"$tmp/dmmp.txt")"
    echo "torch: $(head -n 1 "$tmp/torch.txt")"
    echo "torch: $(sed -n 's/^openblas //p' "$tmp/torch.txt"); $(sed -n 's/^parameters //p' "$tmp/torch.txt"); flops/sample $(sed -n 's/^flops_per_sample_train //p' "$tmp/torch.txt")"
    dm=$(median <"$tmp/d")
    tm=$(median <"$tmp/t")
    rows+=("| $mode | $dm | $tm | $(awk -v a="$dm" -v b="$tm" 'BEGIN { printf "%.2f", a / b }') | $l0 / $l1 |")
done
echo
echo "| mode | dmmp samples/s | torch samples/s | ratio | load (start / end) |"
echo "|---|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
