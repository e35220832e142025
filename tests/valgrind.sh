#!/bin/sh
# Memcheck over a tiny end-to-end run: dmmp data synth, dmmp train (1 epoch),
# dmmp eval and dmmp retrieve, each under valgrind. Builds nothing: give the
# build directory (default: the current one). Exits non-zero on any memory
# error or definite leak in any step. OMP_NUM_THREADS=1 keeps it fast and
# keeps libgomp's thread pool out of the picture.
#   usage: tests/valgrind.sh [BUILDDIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}
dmmp="$build/dmmp"
[ -x "$dmmp" ] || { echo "valgrind.sh: no dmmp in $build (build it first)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-valgrind-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1
# set, so dmmp does not re-execute itself (core/omp_wait.h) out of valgrind's sight
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

cp "$(dirname "$0")/tiny.ini" "$work/tiny.ini" # the smallest configuration that trains every part of dmmp

# Memcheck's own verdict is exit status 99, apart from dmmp's 0/1/2.
status=0
step() {
    name=$1
    expect=$2
    shift 2
    code=0
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --suppressions="$here/valgrind.supp" --log-file="$work/$name.vg" \
        "$dmmp" "$@" >"$work/$name.out" 2>&1 || code=$?
    if [ "$code" -eq "$expect" ]; then
        echo "valgrind.sh: $name: clean (exit $code)"
    else
        echo "valgrind.sh: $name: FAILED (exit $code, expected $expect; 99: memory error or definite leak)"
        cat "$work/$name.out" "$work/$name.vg"
        status=1
    fi
}

step synth 0 data synth --out "$work/d.h5" --users 60 --items 40 --impressions 3000 --seed 3
step train 0 train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/run"
step eval 0 eval --run "$work/run" --data "$work/d.h5"
step retrieve 0 retrieve --run "$work/run" --data "$work/d.h5" --user 1 --k 3
# A failing command takes other paths through the code: they must be clean too.
step eval-missing-run 2 eval --run "$work/absent" --data "$work/d.h5"
step retrieve-bad-user 2 retrieve --run "$work/run" --data "$work/d.h5" --user 60
[ "$status" -eq 0 ] && echo "valgrind.sh: all steps clean"
exit "$status"
