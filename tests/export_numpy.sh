#!/bin/sh
# The exported files and the checkpoint layout read with numpy and h5py alone
# (tests/export_check.py): trains tiny two_tower, three_tower (L2-normalised)
# and dmmp runs, exports their vectors and predictions, runs dmmp retrieve and
# dmmp eval, and lets the script compare. Skipped (exit 77) when no python3
# with numpy and h5py is found ($PYTHON, python3 on the PATH, /usr/bin/python3).
set -eu
src=${DMMP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${DMMP_BUILDDIR:-$src}
dmmp=$build/dmmp
py=
for p in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$p" ] || continue
    if "$p" -c 'import numpy, h5py' >/dev/null 2>&1; then py=$p; break; fi
done
if [ -z "$py" ]; then
    echo "SKIP export_numpy: no python3 with numpy and h5py (set PYTHON)"
    exit 77
fi
if [ ! -x "$dmmp" ]; then
    echo "SKIP export_numpy: $dmmp is not built"
    exit 77
fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-export-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$dmmp" data synth --out "$dir/data.h5" --users 200 --items 90 --impressions 12000 --seed 4 >/dev/null
echo "3 50 199" >"$dir/users.txt"
for v in two_tower three_tower dmmp; do
    set -- --set model.kind=$v --set train.batch_size=256
    case $v in
        two_tower) set -- "$@" --set student.gate=off --set kd.enabled=off ;;
        three_tower) set -- "$@" --set student.gate=off --set kd.enabled=off --set student.l2norm=on ;;
    esac
    "$dmmp" train --config "$src/tests/tiny.ini" --data "$dir/data.h5" --out "$dir/run_$v" "$@" >"$dir/train_$v.log" 2>&1 ||
        { cat "$dir/train_$v.log"; exit 1; }
    "$dmmp" export vectors --run "$dir/run_$v" --data "$dir/data.h5" --out "$dir/vec_$v" >/dev/null
    "$dmmp" export vectors --run "$dir/run_$v" --data "$dir/data.h5" --out "$dir/vec_$v" --format h5 >/dev/null
    "$dmmp" export predictions --run "$dir/run_$v" --data "$dir/data.h5" --out "$dir/pred_$v.csv" >/dev/null
    "$dmmp" export predictions --run "$dir/run_$v" --data "$dir/data.h5" --out "$dir/pred_$v.h5" >/dev/null
    "$dmmp" eval --run "$dir/run_$v" --data "$dir/data.h5" >/dev/null 2>&1
    for u in $(cat "$dir/users.txt"); do
        "$dmmp" retrieve --run "$dir/run_$v" --data "$dir/data.h5" --user "$u" --k 10 >"$dir/retrieve_${v}_$u.txt"
    done
done
"$py" "$src/tests/export_check.py" "$dir" two_tower three_tower dmmp
