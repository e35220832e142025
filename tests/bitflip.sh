#!/usr/bin/env bash
# Bit-flip harness: damaged files never crash a command and never pass
# unnoticed. Writes a tiny dataset and run (dmmp data synth, dmmp train,
# dmmp eval), then for each kind of file, N trials each flip 1..16 random bits
# of a copy and run every command that reads it, and dmmp data verify:
#   dataset       dmmp data inspect
#   checkpoint    dmmp eval, dmmp retrieve (checkpoint.h5)
#   last          dmmp train --resume one more epoch, then dmmp eval (last.h5)
#   results       dmmp report, dmmp plot when gnuplot is installed (results.h5)
#   every kind    dmmp data verify (run first, on the flipped file)
# A command passes when it exits 1 or 2 with a message on stderr, or exits 0
# with stdout byte-identical to the intact file's. Any signal, hang (timeout),
# other exit status, silent failure or differing output fails. A trial where
# every reading command passes with unchanged output but verify refuses is
# damage found only by verify (bytes no command reads) and is counted; one
# where verify passes unchanged but a command refuses is counted as missed by
# verify (and fails the harness: verify reads everything the commands read).
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

cp "$(dirname "$0")/tiny.ini" "$work/tiny.ini" # the smallest configuration that trains every part of dmmp
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
# name the same file in every trial. prepare puts intact copies there;
# run CMD runs one command, stdout to $work/out.CMD, stderr to $work/err.CMD.
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
have_gnuplot=0
command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1 && have_gnuplot=1
[ "$have_gnuplot" -eq 1 ] || echo "bitflip.sh: no gnuplot: dmmp plot is not run"
commands() {
    case $1 in
    dataset) echo inspect ;;
    checkpoint) echo eval retrieve ;;
    last) echo resume ;;
    results) if [ "$have_gnuplot" -eq 1 ]; then echo report plot; else echo report; fi ;;
    esac
}
run() {
    local t="$work/t" to="timeout -s KILL $limit"
    case $1 in
    verify) $to "$dmmp" data verify "$vtarget" ;;
    inspect) $to "$dmmp" data inspect "$t/d.h5" ;;
    eval) $to "$dmmp" eval --run "$t/run" --data "$work/d.h5" ;;
    retrieve) $to "$dmmp" retrieve --run "$t/run" --data "$work/d.h5" --user 3 --k 5 ;;
    resume) $to "$dmmp" train --resume --config "$work/tiny.ini" --data "$work/d.h5" \
                --out "$t/run" --variant tiny --set train.epochs=2 >/dev/null &&
                $to "$dmmp" eval --run "$t/run" --data "$work/d.h5" ;;
    report) $to "$dmmp" report "$t/run" ;;
    plot) $to "$dmmp" plot "$t/run" --out "$work/plot.png" ;;
    esac >"$work/out.$1" 2>"$work/err.$1"
}

# judge CMD RC: same | refused | bad (printing why).
judge() {
    local c=$1 rc=$2 what
    if [ "$rc" -eq 0 ] && cmp -s "$work/out.$c" "$work/clean.$kind.$c"; then
        echo same
    elif { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ -s "$work/err.$c" ]; then
        [ -n "${BITFLIP_MESSAGES:-}" ] && echo "$kind $c: exit $rc: $(head -1 "$work/err.$c")" >>"$BITFLIP_MESSAGES"
        echo refused
    else
        what="exit $rc"
        [ "$rc" -gt 128 ] && what="signal $((rc - 128))"
        [ "$rc" -eq 137 ] && what="killed after ${limit}s (hang) or signal 9"
        [ "$rc" -eq 0 ] && what="exit 0 with different output"
        echo "bitflip.sh: $kind trial $k: $c: $what" >&2
        tail -3 "$work/err.$c" >&2
        echo bad
    fi
}

status=0
for kind in dataset checkpoint last results; do
    cmds="verify $(commands "$kind")"
    prepare
    vtarget=$(target "$kind")
    for c in $cmds; do
        run "$c"
        rc=$?
        [ "$rc" -eq 0 ] || { echo "bitflip.sh: $kind: $c fails on the intact file (exit $rc)"; cat "$work/err.$c"; exit 1; }
        cp "$work/out.$c" "$work/clean.$kind.$c"
    done
    grep -qx ok "$work/clean.$kind.verify" || { echo "bitflip.sh: $kind: verify does not say ok on the intact file"; exit 1; }
    unset n_same n_refused
    declare -A n_same n_refused
    for c in $cmds; do n_same[$c]=0; n_refused[$c]=0; done
    bad=0 only_verify=0 missed=0
    for ((k = 1; k <= trials; k++)); do
        prepare
        vtarget=$(target "$kind")
        flip "$vtarget"
        cp "$vtarget" "$work/flipped.h5"
        trial_bad=0 readers_same=1 reader_refused=0 vres=
        for c in $cmds; do
            run "$c"
            res=$(judge "$c" $?)
            case $res in
            same) n_same[$c]=$((n_same[$c] + 1)) ;;
            refused) n_refused[$c]=$((n_refused[$c] + 1)) ;;
            *) trial_bad=1 ;;
            esac
            if [ "$c" = verify ]; then vres=$res
            else
                [ "$res" = same ] || readers_same=0
                [ "$res" = refused ] && reader_refused=1
            fi
        done
        [ "$vres" = refused ] && [ "$readers_same" -eq 1 ] && [ "$trial_bad" -eq 0 ] && only_verify=$((only_verify + 1))
        if [ "$vres" = same ] && [ "$reader_refused" -eq 1 ]; then
            missed=$((missed + 1))
            echo "bitflip.sh: $kind trial $k: verify says ok, a command refuses"
            trial_bad=1
        fi
        if [ "$trial_bad" -eq 1 ]; then
            bad=$((bad + 1))
            cp "$work/flipped.h5" "$work/../bitflip-$kind-$k.h5" 2>/dev/null || true
        fi
    done
    line="bitflip.sh: $kind: $trials trials:"
    for c in $cmds; do line="$line $c ${n_refused[$c]} refused ${n_same[$c]} unchanged;"; done
    echo "$line $only_verify found only by verify, $missed missed by verify, $bad bad"
    [ "$bad" -eq 0 ] || status=1
done
exit "$status"
