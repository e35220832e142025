#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,
# address,undefined) straight from the library sources, writes the seed
# corpus with fuzz_seeds, and runs each target for a bounded time. It shares
# nothing with the normal build: objects go to their own directory, so the
# normal build never needs clang.
#
# usage: tests/fuzz/run.sh [TARGET ...]     (default: every target)
# environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_WORK     work directory: objects, seeds, corpus, crashes (default ./fuzz-work)
#   CLANG         the compiler (default clang-14, else clang)
#   HDF5_CFLAGS, HDF5_LIBS, INIH_CFLAGS, INIH_LIBS  (default: pkg-config, else Debian's serial HDF5)
# Exit status: 0 when every target ran its time without a finding; 1 when a
# target crashed, leaked or broke a property (the input is saved under
# $FUZZ_WORK/crashes/<target>/ and printed); 2 on a build error.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
work=${FUZZ_WORK:-$PWD/fuzz-work}
mkdir -p "$work"
work=$(cd "$work" && pwd)
all_targets="text_scan aliccp_raw csv csv_import config"
targets=${*:-$all_targets}

if [ -z "${CLANG:-}" ]; then
    if command -v clang-14 >/dev/null; then CLANG=clang-14; else CLANG=clang; fi
fi
command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
if [ -z "${HDF5_CFLAGS+x}" ]; then
    if pkg-config --exists hdf5 2>/dev/null; then
        HDF5_CFLAGS=$(pkg-config --cflags hdf5); HDF5_LIBS=$(pkg-config --libs hdf5)
    else
        HDF5_CFLAGS=-I/usr/include/hdf5/serial; HDF5_LIBS="-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5"
    fi
fi
HDF5_LIBS=${HDF5_LIBS:--lhdf5}
INIH_CFLAGS=${INIH_CFLAGS:-}
INIH_LIBS=${INIH_LIBS:--linih}

# The library sources the targets reach (the importers, the dataset reader
# and writer, the configuration); the archive lets the linker take only what
# each target needs.
lib_sources=$(cd "$srcdir" && ls src/core/*.c src/config/*.c src/data/*.c)
version=$(sed -n 's/^AC_INIT(\[dmmp\], \[\([^]]*\)\].*/\1/p' "$srcdir/configure.ac")
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fopenmp -Wall -Wextra -Wno-unused-parameter -Werror $san"
includes="-I$work/include -I$srcdir/src -I$srcdir $HDF5_CFLAGS $INIH_CFLAGS"
libs="$HDF5_LIBS $INIH_LIBS -lz -lm"

build() {
    mkdir -p "$work/include" "$work/obj" "$work/bin"
    printf '/* written by tests/fuzz/run.sh */\n#define PACKAGE_VERSION "%s"\n#define PACKAGE_STRING "dmmp %s"\n' \
        "$version" "$version" > "$work/include/config.h"
    local objs=() src obj
    for src in $lib_sources; do
        obj="$work/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
        if [ ! -e "$obj" ] || [ "$srcdir/$src" -nt "$obj" ]; then
            $CLANG $cflags -fsanitize=fuzzer-no-link $includes -c "$srcdir/$src" -o "$obj"
        fi
        objs+=("$obj")
    done
    rm -f "$work/obj/libdmmp_fuzz.a"
    ar cr "$work/obj/libdmmp_fuzz.a" "${objs[@]}"
    $CLANG $cflags $includes "$srcdir/tests/fuzz/fuzz_seeds.c" "$work/obj/libdmmp_fuzz.a" $libs -o "$work/bin/fuzz_seeds"
    local t
    for t in $targets; do
        $CLANG $cflags -fsanitize=fuzzer $includes "$srcdir/tests/fuzz/fuzz_$t.c" "$work/obj/libdmmp_fuzz.a" $libs \
            -o "$work/bin/fuzz_$t"
    done
}

echo "fuzz: building with $CLANG into $work"
trap 'echo "fuzz: build failed" >&2; exit 2' ERR
build
trap - ERR

rm -rf "$work/seeds"
ASAN_OPTIONS=detect_leaks=0 "$work/bin/fuzz_seeds" "$work/seeds" "$srcdir"/experiments/configs/*.ini

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$srcdir/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=2
failed=0
for t in $targets; do
    corpus="$work/corpus/$t"
    crashes="$work/crashes/$t"
    mkdir -p "$corpus" "$crashes"
    echo "fuzz: $t for ${seconds}s"
    if "$work/bin/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" "$work/seeds/$t" > "$work/$t.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$work/$t.log" | tr '\n' ' '; echo
    else
        failed=1
        echo "fuzz: $t FAILED; the log ends:" >&2
        tail -n 40 "$work/$t.log" >&2
        echo "fuzz: inputs that failed:" >&2
        ls -l "$crashes" >&2
    fi
done
exit $failed
