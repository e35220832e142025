#!/bin/sh
# The dependency rule as a test: a file may include headers of its own layer
# and of the layers below it, never of one above. The layers follow the data
# flow:
#   core < simd < nn < model < train < eval < bench < cli
#   core < config < model    core < data < model    core < metrics < train
# (data may use simd; config and metrics use core only).
# Prints every include that runs against the flow and exits 1 if there is one.
cd "${1:-${DMMP_SRCDIR:-.}}" || exit 2
[ -d src ] && [ -d simd ] || { echo "check_layers: no src/ and simd/ in $(pwd)" >&2; exit 2; }

# allowed LAYER: the folders a file of LAYER may include from.
allowed() {
    case "$1" in
    core) echo "core" ;;
    simd) echo "core simd" ;;
    config) echo "core config" ;;
    metrics) echo "core metrics" ;;
    data) echo "core simd data" ;;
    nn) echo "core simd nn" ;;
    model) echo "core simd config data nn model" ;;
    train) echo "core simd config data nn model metrics train" ;;
    eval) echo "core simd config data nn model metrics train eval" ;;
    bench) echo "core simd config data nn model metrics train eval bench" ;;
    cli) echo "core simd config data nn model metrics train eval bench cli" ;;
    *) echo "" ;;
    esac
}

bad=0 files=0
for f in $(find src simd -name '*.[ch]' | sort); do
    case "$f" in
    simd/*) layer=simd ;;
    src/*) layer=$(echo "$f" | cut -d/ -f2) ;;
    esac
    ok=$(allowed "$layer")
    if [ -z "$ok" ]; then
        echo "$f: folder '$layer' is not a known layer (add it to tests/check_layers.sh)"
        bad=$((bad + 1))
        continue
    fi
    files=$((files + 1))
    # "dir/name.h" includes only; <...> and local "name.h" are not layer edges.
    out=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_0-9]*/' "$f" | while IFS= read -r line; do
        dir=$(echo "$line" | sed 's/^[0-9]*:[^"]*"\([a-z_0-9]*\)\/.*/\1/')
        case " $ok " in
        *" $dir "*) ;;
        *) echo "$f:${line%%:*}: $layer includes $dir: $(echo "$line" | sed 's/^[0-9]*://')" ;;
        esac
    done)
    if [ -n "$out" ]; then
        echo "$out"
        bad=$((bad + $(echo "$out" | wc -l)))
    fi
done
if [ "$bad" -gt 0 ]; then
    echo "check_layers: $bad include(s) against the data flow in $files files"
    exit 1
fi
echo "check_layers: $files files, every include follows the data flow"
