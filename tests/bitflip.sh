#!/usr/bin/env bash
# Bit-flip harness: damaged files never crash a command and never pass
# unnoticed. Writes a tiny dataset and run (dmmp data synth, dmmp train,
# dmmp eval) and a benchmark record (dmmp bench gemm and retrieve), then for
# each kind of file, N trials each flip 1..16 random bits of a copy and run
# every command that reads it, and dmmp data verify:
#   dataset       dmmp data inspect
#   checkpoint    dmmp eval, dmmp retrieve (checkpoint.h5)
#   last          dmmp train --resume one more epoch, then dmmp eval (last.h5)
#   results       dmmp report, dmmp plot when gnuplot is installed (results.h5)
#   bench         dmmp bench gemm --out appending to the record, then h5dump of
#                 the group it carries over (/retrieve); needs h5dump
#   every kind    dmmp data verify (run first, on the flipped file)
# A command passes when it exits 1 or 2 with a message on stderr, or exits 0
# with stdout byte-identical to the intact file's. Any signal, hang (timeout),
# other exit status, silent failure or differing output fails. A trial where
# every reading command passes with unchanged output but verify refuses is
# damage found only by verify (bytes no command reads) and is counted; one
# where verify passes unchanged but a command refuses is counted as missed by
# verify (and fails the harness: verify reads everything the commands read).
#
# The same kinds written before checksums (old-dataset, old-checkpoint,
# old-last, old-results, old-bench: the files above rewritten by
# tests/h5_old_format in the older format) are flipped the same way. Nothing
# checks their bytes, so a command may exit 0 with different output (counted
# as unnoticed), but a signal, a hang or a silent failure still fails; a
# refusal because HDF5 crashed in the child process that walks such a file
# first is counted as contained.
#   usage: tests/bitflip.sh [TRIALS per kind, default 10] [BUILDDIR] [SEED]
set -u
trials=${1:-10}
build=${2:-${DMMP_BUILDDIR:-.}}
seed=${3:-1}
dmmp="$(cd "$build" && pwd)/dmmp"
old_format="$(cd "$build" && pwd)/tests/h5_old_format"
[ -x "$dmmp" ] || { echo "bitflip.sh: no dmmp in $build (build it first)" >&2; exit 2; }
[ -x "$old_format" ] || { echo "bitflip.sh: no tests/h5_old_format in $build (make check builds it)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-bitflip-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive DMMP_LOG=warn
limit=${BITFLIP_TIMEOUT:-60}
RANDOM=$seed

cp "$(dirname "$0")/tiny.ini" "$work/tiny.ini" # the smallest configuration that trains every part of dmmp
"$dmmp" data synth --out "$work/d.h5" --users 60 --items 40 --impressions 3000 --seed 3 >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/run" --variant tiny >/dev/null 2>&1 &&
    "$dmmp" eval --run "$work/run" --data "$work/d.h5" >/dev/null 2>&1 &&
    "$dmmp" bench gemm --size 16 --repeat 1 --out "$work/b.h5" >/dev/null 2>&1 &&
    "$dmmp" bench retrieve --items 500 --dim 8 --queries 8 --k 5 --repeat 1 --gemm-size 16 --out "$work/b.h5" \
        >/dev/null 2>&1 ||
    { echo "bitflip.sh: setting up the dataset, run and benchmark record failed" >&2; exit 1; }
# The same files written before checksums.
mkdir -p "$work/old/run"
cp "$work/run/train.log" "$work/old/run/" 2>/dev/null
for f in d.h5 b.h5 run/checkpoint.h5 run/last.h5 run/results.h5; do
    "$old_format" "$work/$f" "$work/old/$f" || { echo "bitflip.sh: writing the old-format $f failed" >&2; exit 1; }
done

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
# name the same file in every trial. prepare KIND puts intact copies there
# (of the old-format files for an old-* kind); run CMD runs one command,
# stdout to $work/out.CMD, stderr to $work/err.CMD.
prepare() {
    local from=$work
    case $1 in old-*) from=$work/old ;; esac
    rm -rf "$work/t"
    mkdir -p "$work/t"
    cp -r "$from/run" "$work/t/run"
    cp "$from/d.h5" "$from/b.h5" "$work/t/"
}
target() {
    case ${1#old-} in
    dataset) echo "$work/t/d.h5" ;;
    checkpoint) echo "$work/t/run/checkpoint.h5" ;;
    last) echo "$work/t/run/last.h5" ;;
    results) echo "$work/t/run/results.h5" ;;
    bench) echo "$work/t/b.h5" ;;
    esac
}
have_gnuplot=0
command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1 && have_gnuplot=1
[ "$have_gnuplot" -eq 1 ] || echo "bitflip.sh: no gnuplot: dmmp plot is not run"
have_h5dump=0
command -v h5dump >/dev/null 2>&1 && have_h5dump=1
[ "$have_h5dump" -eq 1 ] || echo "bitflip.sh: no h5dump: benchmark records are not flipped"
commands() {
    case ${1#old-} in
    dataset) echo inspect ;;
    checkpoint) echo eval retrieve ;;
    last) echo resume ;;
    results) if [ "$have_gnuplot" -eq 1 ]; then echo report plot; else echo report; fi ;;
    bench) echo append ;;
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
    # the record is read in full and written anew: the group it carries over must be unchanged
    append) $to "$dmmp" bench gemm --size 16 --repeat 1 --out "$t/b.h5" >/dev/null &&
                $to h5dump -g /retrieve "$t/b.h5" ;;
    esac >"$work/out.$1" 2>"$work/err.$1"
}

# judge CMD RC: same | refused | changed (an old-format kind only) | bad (printing why).
judge() {
    local c=$1 rc=$2 what
    if [ "$rc" -eq 0 ] && cmp -s "$work/out.$c" "$work/clean.$kind.$c"; then
        echo same
    elif { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ -s "$work/err.$c" ]; then
        [ -n "${BITFLIP_MESSAGES:-}" ] && echo "$kind $c: exit $rc: $(head -1 "$work/err.$c")" >>"$BITFLIP_MESSAGES"
        if grep -q "HDF5 crashed\|HDF5 made no progress\|HDF5 ended abnormally" "$work/err.$c"; then echo contained
        else echo refused; fi
    elif [ "$rc" -eq 0 ] && [ "$old" -eq 1 ]; then
        echo changed
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
for kind in dataset checkpoint last results bench old-dataset old-checkpoint old-last old-results old-bench; do
    case $kind in old-*) old=1 ;; *) old=0 ;; esac
    case $kind in *bench) [ "$have_h5dump" -eq 1 ] || continue ;; esac
    cmds="verify $(commands "$kind")"
    prepare "$kind"
    vtarget=$(target "$kind")
    for c in $cmds; do
        run "$c"
        rc=$?
        [ "$rc" -eq 0 ] || { echo "bitflip.sh: $kind: $c fails on the intact file (exit $rc)"; cat "$work/err.$c"; exit 1; }
        cp "$work/out.$c" "$work/clean.$kind.$c"
    done
    if [ "$old" -eq 0 ]; then
        grep -qx ok "$work/clean.$kind.verify" || { echo "bitflip.sh: $kind: verify does not say ok on the intact file"; exit 1; }
    else
        grep -q "^written before checksums" "$work/clean.$kind.verify" ||
            { echo "bitflip.sh: $kind: verify does not say 'written before checksums' on the intact file"; exit 1; }
    fi
    unset n_same n_refused n_changed n_contained
    declare -A n_same n_refused n_changed n_contained
    for c in $cmds; do n_same[$c]=0; n_refused[$c]=0; n_changed[$c]=0; n_contained[$c]=0; done
    bad=0 only_verify=0 missed=0
    for ((k = 1; k <= trials; k++)); do
        prepare "$kind"
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
            contained) n_refused[$c]=$((n_refused[$c] + 1)); n_contained[$c]=$((n_contained[$c] + 1)) ;;
            changed) n_changed[$c]=$((n_changed[$c] + 1)) ;;
            *) trial_bad=1 ;;
            esac
            [ "$res" = contained ] && res=refused
            if [ "$c" = verify ]; then vres=$res
            else
                [ "$res" = same ] || readers_same=0
                [ "$res" = refused ] && reader_refused=1
            fi
        done
        [ "$vres" = refused ] && [ "$readers_same" -eq 1 ] && [ "$trial_bad" -eq 0 ] && only_verify=$((only_verify + 1))
        if [ "$old" -eq 0 ] && [ "$vres" = same ] && [ "$reader_refused" -eq 1 ]; then
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
    for c in $cmds; do
        line="$line $c ${n_refused[$c]} refused"
        [ "${n_contained[$c]}" -gt 0 ] && line="$line (${n_contained[$c]} of them HDF5 crashes contained)"
        line="$line ${n_same[$c]} unchanged"
        [ "$old" -eq 1 ] && line="$line ${n_changed[$c]} changed unnoticed"
        line="$line;"
    done
    if [ "$old" -eq 0 ]; then line="$line $only_verify found only by verify, $missed missed by verify, $bad bad"
    else line="$line $bad bad"; fi
    echo "$line"
    [ "$bad" -eq 0 ] || status=1
done
exit "$status"
