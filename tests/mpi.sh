#!/usr/bin/env bash
# Multi-process runs (make check when configure found MPI). Training: the
# gradient exchange against one process, bit-identical reruns and replicas,
# stop and resume. Evaluation: the corpus of a
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
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
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

mpi 2 "$dmmp" data inspect "$work/d.h5" > "$work/t.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "does not run on several processes" "$work/t.txt"
check $? "mpirun -np 2 dmmp data inspect: exit 2 with a message (got $rc)"

# ---- data-parallel training ------------------------------------------------
# The gradient exchange against one process on the same rows: every rank
# reads the same batches and steps on its share of each, so np = 2 and 3
# train on exactly the rows of np = 1 and differ only in the order of the
# floating-point sums. One epoch (4 x 16k-row chunks, 937 steps): every
# weight within 1e-5, the mean loss and the validation AUCs within 1e-4
# (measured: 3.4e-7 and 2e-8 with np = 2), the replicas bit-identical.
step="$(cd "$build" && pwd)/tests/dist_step"
"$dmmp" data synth --out "$work/t.h5" --users 3000 --items 5000 --impressions 300000 --seed 5 >/dev/null 2>&1 ||
    { echo "mpi.sh: the training dataset failed" >&2; exit 1; }
"${mpi_env[@]}" "$step" "$work/tiny.ini" "$work/t.h5" 0 "$work/w1.bin" > "$work/s.txt" 2>&1
check $? "dist_step: one process trains an epoch"
for np in 2 3; do
    mpi "$np" "$step" "$work/tiny.ini" "$work/t.h5" 0 "$work/w$np.bin" "$work/w1.bin" 1e-5 > "$work/s.txt" 2>&1
    rc=$?
    sed 's/^/    /' "$work/s.txt"
    check $rc "dist_step: np=$np on shares of the batches equals one process on the whole batches (tolerances above)"
done
# ... and the comparison can fail: against the single process of another
# seed the same job is refused.
{ cat "$work/tiny.ini"; printf '[train]\nseed = 7\n'; } > "$work/seed7.ini"
"${mpi_env[@]}" "$step" "$work/seed7.ini" "$work/t.h5" 0 "$work/w7.bin" >/dev/null 2>&1
mpi 2 "$step" "$work/tiny.ini" "$work/t.h5" 0 "$work/w2b.bin" "$work/w7.bin" 1e-5 >/dev/null 2>&1
[ $? = 1 ]
check $? "dist_step: np=2 against one process of another seed fails (the comparison is not vacuous)"

# Sharded tables (model.table_placement = sharded): each rank holds one
# block of every table's rows, lookups fetch the rows from their owners and
# gradients go to them, merged with the replicated tables' arithmetic. So a
# sharded job equals the replicated job of the same ranks bit for bit:
# tolerance 0 for every weight, the mean loss and the validation AUCs
# (measured: 0), with sampled (random) and in-batch negatives too, and with
# 3 ranks; and the comparison fails against another seed.
{ cat "$work/tiny.ini"; printf '[model]\ntable_placement = sharded\n'; } > "$work/sharded.ini"
{ cat "$work/seed7.ini"; printf '[model]\ntable_placement = sharded\n'; } > "$work/sharded7.ini"
for neg in none random in_batch; do
    for np in 2 3; do
        [ $neg != none ] && [ $np = 3 ] && continue
        { cat "$work/tiny.ini"; printf '[student]\nnegatives = %s\n' $neg; } > "$work/rep_$neg.ini"
        { cat "$work/sharded.ini"; printf '[student]\nnegatives = %s\n' $neg; } > "$work/sh_$neg.ini"
        steps=0; [ $neg != none ] && steps=300
        mpi $np "$step" "$work/rep_$neg.ini" "$work/t.h5" $steps "$work/rep_$neg$np.bin" > "$work/s.txt" 2>&1
        check $? "dist_step: np=$np replicated, negatives $neg"
        mpi $np "$step" "$work/sh_$neg.ini" "$work/t.h5" $steps "$work/sh_$neg$np.bin" "$work/rep_$neg$np.bin" 0 > "$work/s.txt" 2>&1
        rc=$?
        sed 's/^/    /' "$work/s.txt"
        check $rc "dist_step: np=$np sharded equals np=$np replicated bit for bit (negatives $neg, tolerance 0)"
    done
done
# auto: the tables of at least 1000 rows sharded (the 3000 users and 5000
# items of t.h5), the others replicated, both exchanges in one step.
{ cat "$work/tiny.ini"; printf '[model]\ntable_placement = auto\nshard_min_rows = 1000\n'; } > "$work/auto.ini"
mpi 2 "$step" "$work/auto.ini" "$work/t.h5" 0 "$work/auto2.bin" "$work/rep_none2.bin" 0 > "$work/s.txt" 2>&1
rc=$?
sed 's/^/    /' "$work/s.txt"
check $rc "dist_step: np=2 auto (some tables sharded) equals np=2 replicated bit for bit (tolerance 0)"
mpi 2 "$step" "$work/sharded7.ini" "$work/t.h5" 0 "$work/sh7.bin" "$work/rep_none2.bin" 0 >/dev/null 2>&1
[ $? = 1 ]
check $? "dist_step: np=2 sharded against np=2 replicated of another seed fails (the comparison is not vacuous)"

have_h5diff=1
command -v h5diff >/dev/null || { have_h5diff=0; echo "mpi.sh: no h5diff (Debian: hdf5-tools): the checkpoint comparisons are skipped"; }
# The same weights: the dense parameters and every table of two checkpoints.
same_weights() {
    [ $have_h5diff = 1 ] || return 0
    h5diff "$1" "$2" model/params >/dev/null || return 1
    for t in $(h5ls -r "$1" | awk '$1 ~ /^\/features\/.*\/weight$/ {print $1}'); do
        h5diff "$1" "$2" "$t" >/dev/null || return 1
    done
}
train2() { DMMP_LOG=info mpi 2 "$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --set train.batch_size=128 --set train.epochs=2 "$@"; }
train2 --out "$work/p1" > "$work/p.txt" 2>&1
check $? "mpirun -np 2 dmmp train: exit 0"
grep -q "2 processes (batch 128 each)" "$work/p1/train.log"
check $? "the run's log says it ran on 2 processes"
train2 --out "$work/p2" >/dev/null 2>&1
same_weights "$work/p1/checkpoint.h5" "$work/p2/checkpoint.h5"
check $? "two np=2 runs: bit-identical checkpoints"
mpi 2 "$dmmp" eval --run "$work/p1" --data "$work/t.h5" > "$work/pe.txt" 2>&1 && grep -q "click_recall@10" "$work/pe.txt"
check $? "the np=2 run evaluates"
"$dmmp" report "$work/p1" --format csv > "$work/p.csv" 2>/dev/null && grep -q "click_recall@10" "$work/p.csv"
check $? "the np=2 run's results.h5 reads back (dmmp report)"

# Replicas that compute differently (rank 1 on the scalar kernels) are
# found at the epoch's end, not left to drift.
timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    [ "$OMPI_COMM_WORLD_RANK" = 1 ] && export DMMP_ISA=scalar
    exec "$0" train --config "$1" --data "$2" --out "$3"' "$dmmp" "$work/tiny.ini" "$work/t.h5" "$work/isa" > "$work/i.txt" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "the weights of rank 1 differ from rank 0's" "$work/i.txt"
check $? "ranks on different kernels: the job ends naming the rank (exit $rc)"

# SIGINT on one rank stops every rank at the same step (exit 130) with a
# resumable last.h5 holding each rank's position; resumed with np=2 the
# run ends with the weights of the run that was not stopped; resumed
# inside the epoch with another process count it is refused.
rm -f "$work"/pid.*
DMMP_LOG=info timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    echo $$ > "$4/pid.$OMPI_COMM_WORLD_RANK"
    exec "$0" train --config "$1" --data "$2" --out "$3" --set train.batch_size=128 --set train.epochs=2' \
    "$dmmp" "$work/tiny.ini" "$work/t.h5" "$work/s1" "$work" > "$work/int.txt" 2>&1 &
job=$!
for _ in $(seq 100); do [ -f "$work/s1/last.h5" ] && break; sleep 0.1; done
sleep 0.3
kill -INT "$(cat "$work/pid.1")"
wait $job
rc=$?
[ $rc = 130 ]
check $? "SIGINT on rank 1: the job exits 130 (got $rc)"
grep -q "interrupted at epoch 2" "$work/s1/train.log"
check $? "rank 0 logged the interruption inside epoch 2"
[ $have_h5diff = 0 ] || h5dump -d train/rank_positions "$work/s1/last.h5" 2>/dev/null | grep -q "( 2, 3 )"
check $? "last.h5 holds both ranks' batcher positions"
"$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --out "$work/s1" --set train.batch_size=128 --set train.epochs=2 --resume > "$work/r1.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "resume it with the same number (mpirun -np 2)" "$work/r1.txt"
check $? "resuming a 2-process run inside its epoch with one process is refused (exit $rc)"
train2 --out "$work/s1" --resume > "$work/r2.txt" 2>&1
check $? "the interrupted run resumes with np=2"
same_weights "$work/p1/checkpoint.h5" "$work/s1/checkpoint.h5"
check $? "stopped and resumed: the weights of the run that was not stopped, bit for bit"

# dmmp train with sharded tables: the same checkpoint as the replicated
# run (rank 0 gathers the blocks into the same format), with 2 ranks and
# with 3 (whose ranks run out of rows at different steps and then take
# part in the lookups with none); dmmp eval of it prints what the
# replicated run's prints; SIGINT on a rank and --resume (each rank reads
# its blocks of weights and optimiser state) end with the weights of the
# run that was not stopped; a single process resumes the finished
# sharded run like the replicated one.
train2 --out "$work/sh1" --set model.table_placement=sharded > "$work/sh.txt" 2>&1
check $? "mpirun -np 2 dmmp train, sharded tables: exit 0"
grep -q "28 of 28 tables sharded" "$work/sh1/train.log"
check $? "the sharded run's log says every table is sharded"
same_weights "$work/p1/checkpoint.h5" "$work/sh1/checkpoint.h5" && same_weights "$work/p1/last.h5" "$work/sh1/last.h5"
check $? "np=2 sharded and replicated runs: bit-identical checkpoint.h5 and last.h5 weights"
if [ $have_h5diff = 1 ]; then
    ok=0
    for t in $(h5ls -r "$work/p1/last.h5" | awk '$1 ~ /^\/features\/.*\/adam_/ {print $1}'); do
        h5diff "$work/p1/last.h5" "$work/sh1/last.h5" "$t" >/dev/null || ok=1
    done
    check $ok "np=2 sharded and replicated runs: bit-identical optimiser state of the tables in last.h5"
fi
mpi 3 "$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --set train.batch_size=128 --set train.epochs=2 --out "$work/p3" >/dev/null 2>&1 &&
    mpi 3 "$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --set train.batch_size=128 --set train.epochs=2 --set model.table_placement=sharded --out "$work/sh3" >/dev/null 2>&1
check $? "mpirun -np 3 dmmp train, replicated and sharded: exit 0"
same_weights "$work/p3/checkpoint.h5" "$work/sh3/checkpoint.h5"
check $? "np=3 sharded and replicated runs: bit-identical checkpoints"
"$dmmp" eval --run "$work/p1" --data "$work/t.h5" 2>&1 | grep -v "stored in" > "$work/e_rep.txt"
"$dmmp" eval --run "$work/sh1" --data "$work/t.h5" 2>&1 | grep -v "stored in" > "$work/e_sh.txt"
grep -q "click_recall@10" "$work/e_sh.txt" && cmp -s "$work/e_rep.txt" "$work/e_sh.txt"
check $? "dmmp eval of the sharded run's checkpoint prints what the replicated run's prints"
mkdir -p "$work/xs" "$work/xr"
"$dmmp" export vectors --run "$work/sh1" --data "$work/t.h5" --out "$work/xs/v" >/dev/null 2>&1 &&
    "$dmmp" export vectors --run "$work/p1" --data "$work/t.h5" --out "$work/xr/v" >/dev/null 2>&1 &&
    [ -n "$(ls "$work/xs")" ] && diff -r "$work/xs" "$work/xr" >/dev/null
check $? "dmmp export vectors of the sharded run writes the replicated run's files"
rm -f "$work"/pid.*
DMMP_LOG=info timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    echo $$ > "$4/pid.$OMPI_COMM_WORLD_RANK"
    exec "$0" train --config "$1" --data "$2" --out "$3" --set train.batch_size=128 --set train.epochs=2 --set model.table_placement=sharded' \
    "$dmmp" "$work/tiny.ini" "$work/t.h5" "$work/sh2" "$work" > "$work/int.txt" 2>&1 &
job=$!
for _ in $(seq 100); do [ -f "$work/sh2/last.h5" ] && break; sleep 0.1; done
sleep 0.3
kill -INT "$(cat "$work/pid.1")"
wait $job
rc=$?
[ $rc = 130 ] && grep -q "interrupted at epoch 2" "$work/sh2/train.log"
check $? "sharded tables, SIGINT on rank 1: the job exits 130 inside epoch 2 (got $rc)"
train2 --out "$work/sh2" --resume --set model.table_placement=sharded > "$work/r2.txt" 2>&1
check $? "the interrupted sharded run resumes with np=2"
same_weights "$work/sh1/checkpoint.h5" "$work/sh2/checkpoint.h5" && same_weights "$work/sh1/last.h5" "$work/sh2/last.h5"
check $? "sharded, stopped and resumed: the weights of the run that was not stopped, bit for bit"
cp -r "$work/sh1" "$work/sh1c" && cp -r "$work/p1" "$work/p1c"
"$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --out "$work/sh1c" --set train.batch_size=128 --set train.epochs=3 --set model.table_placement=sharded --resume >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/t.h5" --out "$work/p1c" --set train.batch_size=128 --set train.epochs=3 --resume >/dev/null 2>&1
check $? "one process resumes the sharded and the replicated run for a third epoch"
same_weights "$work/p1c/last.h5" "$work/sh1c/last.h5"
check $? "one process continues the sharded run exactly as the replicated one"

# A rank killed (SIGKILL) while the job trains: the job ends well before the timeout.
start=$(date +%s)
timeout 120 "${mpi_env[@]}" mpirun --allow-run-as-root --oversubscribe -np 2 bash -c '
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
        "$0" train --config "$1" --data "$2" --out "$3" --set train.epochs=3 & pid=$!; sleep 1; kill -9 $pid; wait $pid
        st=$?; echo "rank 1 ended with $st" > "$4"; exit $st
    fi
    exec "$0" train --config "$1" --data "$2" --out "$3" --set train.epochs=3' \
    "$dmmp" "$work/tiny.ini" "$work/t.h5" "$work/tk" "$work/tkilled" > "$work/tk.txt" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ $rc != 0 ] && [ $rc != 124 ] && [ $took -lt 100 ] && grep -q "ended with 137" "$work/tkilled"
check $? "a rank killed (SIGKILL) during training ends the job (exit $rc after ${took}s; $(cat "$work/tkilled" 2>/dev/null))"

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
