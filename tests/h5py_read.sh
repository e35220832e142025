#!/usr/bin/env bash
# h5py reads every kind of file dmmp writes: a dataset, a run's checkpoint.h5
# and results.h5 and a benchmark record. Every dataset is read in full
# through h5py's filter pipeline (so every Fletcher32 is checked), every
# chunked dataset must carry Fletcher32 and every file checksummed metadata
# (superblock version 2 or later), a few values are compared with what dmmp
# wrote, and a chunk with a flipped bit must make h5py refuse the read.
# Skipped (exit 77) when no python3 with h5py (python3-h5py) is installed.
#   usage: tests/h5py_read.sh [BUILDDIR]
set -u
build=${1:-${DMMP_BUILDDIR:-.}}
dmmp="$(cd "$build" && pwd)/dmmp"
[ -x "$dmmp" ] || { echo "h5py_read.sh: no dmmp in $build (build it first)" >&2; exit 2; }
python=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py' >/dev/null 2>&1; then python=$p; break; fi
done
[ -n "$python" ] || { echo "h5py_read.sh: skipped: no python3 with h5py (python3-h5py)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-h5py-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive DMMP_LOG=warn
cp "$(dirname "$0")/tiny.ini" "$work/tiny.ini"
"$dmmp" data synth --out "$work/d.h5" --users 60 --items 40 --impressions 3000 --seed 3 >/dev/null 2>&1 &&
    "$dmmp" train --config "$work/tiny.ini" --data "$work/d.h5" --out "$work/run" --variant tiny >/dev/null 2>&1 &&
    "$dmmp" eval --run "$work/run" --data "$work/d.h5" >/dev/null 2>&1 &&
    "$dmmp" bench gemm --size 16 --repeat 1 --out "$work/b.h5" >/dev/null 2>&1 ||
    { echo "h5py_read.sh: writing the files failed" >&2; exit 1; }
"$python" - "$work" <<'PY'
import shutil, sys
import h5py
import numpy as np

work = sys.argv[1]
failures = []

def check(cond, what):
    if not cond:
        failures.append(what)

def read_all(path):
    """Reads every dataset and attribute of path in full; returns (datasets, chunked with Fletcher32)."""
    counts = {"datasets": 0, "checked_chunked": 0}
    with h5py.File(path, "r") as f:
        check(f.id.get_create_plist().get_version()[0] >= 2, f"{path}: superblock version < 2 (no checksummed metadata)")
        def visit(name, obj):
            for key in obj.attrs:
                obj.attrs[key]
            if isinstance(obj, h5py.Dataset):
                counts["datasets"] += 1
                obj[()]
                if obj.chunks is not None:
                    check(obj.fletcher32, f"{path}: /{name} is chunked without Fletcher32")
                    counts["checked_chunked"] += 1
        for key in f.attrs:
            f.attrs[key]
        f.visititems(visit)
    return counts

kinds = {
    "dataset": f"{work}/d.h5",
    "checkpoint": f"{work}/run/checkpoint.h5",
    "results": f"{work}/run/results.h5",
    "bench record": f"{work}/b.h5",
}
for kind, path in kinds.items():
    c = read_all(path)
    check(c["datasets"] > 0, f"{kind}: no dataset read")
    print(f"h5py_read.sh: {kind}: {c['datasets']} datasets read, {c['checked_chunked']} chunked with Fletcher32")

with h5py.File(kinds["dataset"], "r") as f:
    n = int(f.attrs["n_samples"])
    check(n == 3000, f"dataset: n_samples {n}, dmmp wrote 3000")
    click = f["samples/click"][()]
    check(click.shape == (3000,) and set(np.unique(click)) <= {0, 1}, "dataset: /samples/click is not 3000 labels")
    check(int(f.attrs["format_version"]) == 1, "dataset: format_version is not 1")
with h5py.File(kinds["results"], "r") as f:
    check(f.attrs["variant"] == b"tiny" or f.attrs["variant"] == "tiny", f"results: variant {f.attrs['variant']!r}")
    config = f["config"][()]
    config = config.decode() if isinstance(config, bytes) else bytes(config).decode()
    check("[model]" in config, "results: /config holds no [model] section")
    check(len(f["train/wall_time_s"]) == int(f["train"].attrs["epochs"]), "results: /train/wall_time_s and epochs differ")
with h5py.File(kinds["bench record"], "r") as f:
    v = f["gemm/gflops"][()]
    check(v.shape == (3,) and v[0] > 0 and v[1] <= v[0] <= v[2], f"bench record: gflops {v} is not median, min, max")

# A flipped bit in a stored chunk: h5py's read fails the Fletcher32 check.
damaged = f"{work}/damaged.h5"
shutil.copy(kinds["dataset"], damaged)
with h5py.File(damaged, "r") as f:
    info = f["samples/click"].id.get_chunk_info(0)
with open(damaged, "r+b") as raw:
    at = info.byte_offset + info.size // 2
    raw.seek(at)
    b = raw.read(1)
    raw.seek(at)
    raw.write(bytes([b[0] ^ 0x04]))
try:
    with h5py.File(damaged, "r") as f:
        f["samples/click"][()]
    failures.append("a flipped bit in /samples/click was read without an error")
except OSError as e:
    print(f"h5py_read.sh: a flipped bit in /samples/click: h5py refuses it ({str(e).splitlines()[0]})")

for what in failures:
    print(f"h5py_read.sh: {what}", file=sys.stderr)
sys.exit(1 if failures else 0)
PY
