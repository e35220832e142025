# Shared helpers for the experiment drivers (sourced, not run).
# Each driver trains a list of variants over several seeds on one dataset,
# evaluates every run, then writes the report tables and the plots.

set -euo pipefail

EXP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$EXP_DIR/.." && pwd)
DMMP=${DMMP:-$TOP_DIR/dmmp}
CONFIGS=$EXP_DIR/configs

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
note() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ -x "$DMMP" ] || die "no dmmp binary at $DMMP (build first: ./configure && make, or set DMMP=)"

# ensure_data FILE SYNTH_ARGS...: generate the synthetic dataset unless FILE exists.
ensure_data() {
    local file=$1; shift
    if [ -f "$file" ]; then
        note "using dataset $file"
    else
        note "generating synthetic dataset $file"
        mkdir -p "$(dirname "$file")"
        "$DMMP" data synth --out "$file" "$@"
    fi
}

# run_variant OUT DATA NAME CONFIG SEED [--set k=v ...]: train then evaluate
# one run into OUT/NAME/seedSEED (skipped when its evaluation already exists,
# so an interrupted driver can be restarted).
run_variant() {
    local out=$1 data=$2 name=$3 config=$4 seed=$5; shift 5
    local dir=$out/$name/seed$seed
    if [ -f "$dir/eval.done" ]; then
        note "$name seed $seed: done already ($dir)"
        return 0
    fi
    mkdir -p "$dir"
    note "$name seed $seed: training"
    local resume=()
    [ -f "$dir/last.h5" ] && resume=(--resume)
    "$DMMP" train --config "$config" --data "$data" --out "$dir" --seed "$seed" --variant "$name" \
        "${resume[@]}" "$@"
    note "$name seed $seed: evaluating"
    "$DMMP" eval --run "$dir" --data "$data" --split test > "$dir/eval.txt"
    touch "$dir/eval.done"
}

# write_reports OUT BASENAME METRICS RUN_DIRS...: Markdown, LaTeX and CSV tables and the plots.
write_reports() {
    local out=$1 base=$2 metrics=$3; shift 3
    "$DMMP" report "$@" --format md --metrics "$metrics" --out "$out/$base.md"
    "$DMMP" report "$@" --format latex --metrics "$metrics" --out "$out/$base.tex"
    "$DMMP" report "$@" --format csv --metrics "$metrics" --out "$out/$base.csv"
    if command -v gnuplot > /dev/null; then
        "$DMMP" plot "$@" --out "$out/$base.png"
    else
        note "gnuplot not found: no plots (Debian: apt-get install gnuplot-nox)"
    fi
    note "wrote $out/$base.md, $base.tex, $base.csv"
}
