#!/usr/bin/env bash
# Multi-process runs (make check when configure found MPI): the corpus of a
# retrieval evaluation is split over the ranks and the shards' top-K lists are
# merged, so `mpirun -np N dmmp eval` must print exactly what the single
# process prints (every metric, to the last digit); a command that does not
# run on several processes says so (exit 2); a rank killed in the middle of
# an evaluation ends the job with an error instead of leaving the others
# waiting.
#   usage: tests/mpi.sh [BUILDDIR]
set -u
build=${1:-${DMMP_BUILDDIR:-.}}
dmmp="$(cd "$build" && pwd)/dmmp"
[ -x "$dmmp" ] || { echo "mpi.sh: no dmmp in $build (build it first)" >&2; exit 2; }
"$dmmp" env | grep -q "built with MPI" || { echo "mpi.sh: dmmp is built without MPI: skipped"; exit 77; }
command -v mpirun >/dev/null || { echo "mpi.sh: no mpirun (Debian: openmpi-bin): skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-mpi-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive DMMP_LOG=warn
# Containers often forbid the cross-memory attach of the shared-memory transport.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under AddressSanitizer, Open MPI's run-time plugins leak at exit (and are
# unloaded, so no suppression can name them): leak checks are off for the
# ranks; the single-process suite checks the framework's own leaks.
mpi_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0")
mpi() { timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np "$@"; }
fail=0
check() { if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAILED: $2" >&2; fail=1; fi; }

cp "$(dirname "$0")/tiny.ini" "$work/tiny.ini"
# 700 items in batches of 256 (tiny.ini): 3 batches of the item pass, so 2 and 3 ranks get real shards.
"$dmmp" data synth --out "$work/d.h5" --users 400 --items 700 --impressions 20000 --seed 4 >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/dmmp" >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/two" --set model.kind=two_tower --set student.gate=off --set kd.enabled=off --set train.early_stopping_metric=auc_ctr >/dev/null 2>&1 ||
    { echo "mpi.sh: setting up the dataset and runs failed" >&2; exit 1; }

for run in dmmp two; do
    "$dmmp" eval --run "$work/$run" --data "$work/d.h5" > "$work/one.txt" 2>&1
    cp "$work/$run/results.h5" "$work/$run.one.h5"
    check $? "$run: single-process eval"
    grep -q "click_recall@10" "$work/one.txt"
    check $? "$run: the eval prints retrieval metrics"
    for np in 2 3; do
        mpi "$np" "$dmmp" eval --run "$work/$run" --data "$work/d.h5" > "$work/np.txt" 2>&1
        rc=$?
        check $rc "$run: mpirun -np $np dmmp eval exits 0"
        cmp -s "$work/one.txt" "$work/np.txt"
        check $? "$run: mpirun -np $np dmmp eval prints what one process prints"
        [ $rc = 0 ] || cat "$work/np.txt" >&2
    done
done
# The metrics the ranks store (rank 0 writes) are the single process's: the
# run's results.h5 is replaced by one without an evaluation first.
"$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/fresh" >/dev/null 2>&1
mpi 2 "$dmmp" eval --run "$work/fresh" --data "$work/d.h5" >/dev/null 2>&1
"$dmmp" report "$work/fresh" --format csv > "$work/r2.csv" 2>/dev/null
cp "$work/fresh/results.h5" "$work/fresh.np2.h5"
"$dmmp" eval --run "$work/fresh" --data "$work/d.h5" >/dev/null 2>&1
"$dmmp" report "$work/fresh" --format csv > "$work/r1.csv" 2>/dev/null
grep -q "click_recall@10" "$work/r2.csv" && cmp -s "$work/r1.csv" "$work/r2.csv"
check $? "results.h5 stored under mpirun -np 2 equals the single process's"

mpi 2 "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/x" > "$work/t.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "does not run on several processes" "$work/t.txt"
check $? "mpirun -np 2 dmmp train: exit 2 with a message (got $rc)"

# A rank killed while the job evaluates: the job ends, with an error, well before the timeout.
"$dmmp" data synth --out "$work/big.h5" --users 3000 --items 60000 --impressions 60000 --seed 5 >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/big.h5" --out "$work/big" >/dev/null 2>&1 ||
    { echo "mpi.sh: setting up the large run failed" >&2; exit 1; }
start=$(date +%s)
timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
        "$0" eval --run "$1" --data "$2" & pid=$!; sleep 0.3; kill -9 $pid; wait $pid; st=$?
        echo "rank 1 ended with $st" > "$3"; exit $st
    fi
    exec "$0" eval --run "$1" --data "$2"' "$dmmp" "$work/big" "$work/big.h5" "$work/killed" > "$work/k.txt" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ $rc != 0 ] && [ $rc != 124 ] && [ $took -lt 100 ] && grep -q "ended with 137" "$work/killed"
check $? "a rank killed (SIGKILL) during eval ends the job (exit $rc after ${took}s; $(cat "$work/killed" 2>/dev/null))"

# A rank that fails (rank 1 alone is given a missing dataset) ends every rank with its message.
start=$(date +%s)
timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    data=$2; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && data=$2.missing
    exec "$0" eval --run "$1" --data "$data"' "$dmmp" "$work/big" "$work/big.h5" > "$work/f.txt" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ $rc != 0 ] && [ $rc != 124 ] && [ $took -lt 100 ] && grep -q "rank 1 of 2): dmmp eval exited 2: ending every rank" "$work/f.txt"
check $? "a rank that fails ends the job with its message (exit $rc after ${took}s)"
[ $rc = 0 ] || [ $rc = 2 ] || true
exit $fail
