#!/usr/bin/env bash
# Bit-flip harness: damaged files never crash a command and never pass
# unnoticed. Writes a tiny dataset and run (dmmp data synth, dmmp train,
# dmmp eval),
# then for each kind of file, N trials each flip 1..16 random bits of a copy
# and run the command that reads it:
#   dataset       dmmp data inspect
#   checkpoint    dmmp eval (checkpoint.h5)
#   last          dmmp train --resume one more epoch, then dmmp eval (last.h5)
#   results       dmmp report (results.h5)
# A trial passes when the command exits 1 or 2 with a message on stderr, or
# exits 0 with stdout byte-identical to the intact file's. Any signal, hang
# (timeout), other exit status, silent failure or differing output fails.
#   usage: tests/bitflip.sh [TRIALS per kind, default 10] [BUILDDIR] [SEED]
set -u
trials=${1:-10}
build=${2:-${DMMP_BUILDDIR:-.}}
seed=${3:-1}
dmmp="$(cd "$build" && pwd)/dmmp"
[ -x "$dmmp" ] || { echo "bitflip.sh: no dmmp in $build (build it first)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-bitflip-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive DMMP_LOG=warn
limit=${BITFLIP_TIMEOUT:-60}
RANDOM=$seed

cat > "$work/tiny.ini" <<'INI'
[data]
embedding_dim = 4
[teacher]
expert_dims = 8
tower_dims = 4
[student]
user_tower = 8,4
item_tower = 8,4
gate_dims = 4
[train]
epochs = 1
batch_size = 256
threads = 1
log_every = 0
[eval]
topk = 5,10
INI
"$dmmp" data synth --out "$work/d.h5" --users 60 --items 40 --impressions 3000 --seed 3 >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/run" --variant tiny >/dev/null 2>&1 &&
    "$dmmp" eval --run "$work/run" --data "$work/d.h5" >/dev/null 2>&1 ||
    { echo "bitflip.sh: setting up the dataset and run failed" >&2; exit 1; }

# flip FILE: flips 1..16 random bits of FILE in place.
flip() {
    local f=$1 size n i off bit byte
    size=$(stat -c %s "$f")
    n=$((RANDOM % 16 + 1))
    for ((i = 0; i < n; i++)); do
        off=$(((RANDOM * 32768 + RANDOM) % size))
        bit=$((RANDOM % 8))
        byte=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
        byte=$((byte ^ (1 << bit)))
        printf "$(printf '\\%03o' "$byte")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
    done
}

# The trial's copy lives at one fixed path ($work/t), so messages and output
# name the same file in every trial. prepare KIND puts intact copies there;
# run KIND runs the reading command, stdout to $work/out, stderr to $work/err.
prepare() {
    rm -rf "$work/t"
    mkdir -p "$work/t"
    cp -r "$work/run" "$work/t/run"
    cp "$work/d.h5" "$work/t/d.h5"
}
target() {
    case $1 in
    dataset) echo "$work/t/d.h5" ;;
    checkpoint) echo "$work/t/run/checkpoint.h5" ;;
    last) echo "$work/t/run/last.h5" ;;
    results) echo "$work/t/run/results.h5" ;;
    esac
}
run() {
    local t="$work/t"
    case $1 in
    dataset) timeout -s KILL "$limit" "$dmmp" data inspect "$t/d.h5" ;;
    checkpoint) timeout -s KILL "$limit" "$dmmp" eval --run "$t/run" --data "$work/d.h5" ;;
    last) timeout -s KILL "$limit" "$dmmp" train --resume --config "$work/tiny.ini" --data "$work/d.h5" \
              --out "$t/run" --variant tiny --set train.epochs=2 >/dev/null &&
              timeout -s KILL "$limit" "$dmmp" eval --run "$t/run" --data "$work/d.h5" ;;
    results) timeout -s KILL "$limit" "$dmmp" report "$t/run" ;;
    esac >"$work/out" 2>"$work/err"
}

status=0
for kind in dataset checkpoint last results; do
    prepare
    run "$kind"
    rc=$?
    [ "$rc" -eq 0 ] || { echo "bitflip.sh: $kind: the intact file fails (exit $rc)"; cat "$work/err"; exit 1; }
    cp "$work/out" "$work/clean.$kind"
    same=0 refused=0 bad=0
    for ((k = 1; k <= trials; k++)); do
        prepare
        flip "$(target "$kind")"
        run "$kind"
        rc=$?
        if [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/clean.$kind"; then
            same=$((same + 1))
        elif { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ -s "$work/err" ]; then
            [ -n "${BITFLIP_MESSAGES:-}" ] && echo "$kind: exit $rc: $(head -1 "$work/err")" >>"$BITFLIP_MESSAGES"
            refused=$((refused + 1))
        else
            bad=$((bad + 1))
            what="exit $rc"
            [ "$rc" -gt 128 ] && what="signal $((rc - 128))"
            [ "$rc" -eq 137 ] && what="killed after ${limit}s (hang) or signal 9"
            [ "$rc" -eq 0 ] && what="exit 0 with different output"
            echo "bitflip.sh: $kind trial $k: $what"
            tail -3 "$work/err"
            cp "$(target "$kind")" "$work/../bitflip-$kind-$k.h5" 2>/dev/null || true
        fi
    done
    echo "bitflip.sh: $kind: $trials trials: $refused refused (exit 1/2 with a message), $same unchanged output, $bad bad"
    [ "$bad" -eq 0 ] || status=1
done
exit "$status"
