# Shared helpers for the experiment drivers (sourced, not run).
# Each driver trains a list of variants over several seeds on one dataset,
# evaluates every run, then writes the report tables and the plots.

set -euo pipefail

EXP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$EXP_DIR/.." && pwd)
DMMP=${DMMP:-$TOP_DIR/dmmp}
CONFIGS=$EXP_DIR/configs
# Idle OpenMP threads sleep instead of spinning: on a machine shared with
# other work, spinning barriers slowed training 5-20x; set OMP_WAIT_POLICY
# yourself to override.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
note() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ -x "$DMMP" ] || die "no dmmp binary at $DMMP (build first: ./configure && make, or set DMMP=)"

# parse_args DEFAULT_OUT "$@": the options every driver takes. Sets quick,
# seeds, data, out, intent; then prepares the dataset (the synthetic world,
# with purchase intent of spread --intent-spread, unless --data names one)
# and train_set, the --set overrides of quick runs.
# Prints lines 2..HELP_LINES of the calling script on --help.
parse_args() {
    local help_lines=$1; out=$2; shift 2
    quick=0 seeds=3 data="" intent=0
    while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=1 ;;
        --seeds) seeds=$2; shift ;;
        --data) data=$2; shift ;;
        --out) out=$2; shift ;;
        --intent-spread) intent=$2; shift ;;
        -h|--help) sed -n "2,${help_lines}p" "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
        shift
    done
    [[ $seeds =~ ^[1-9][0-9]*$ ]] || die "--seeds needs a positive integer (got $seeds)"
    [[ $intent =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--intent-spread needs a number >= 0 (got $intent)"
    [ -z "$data" ] || [ "$intent" = 0 ] || die "--intent-spread makes the synthetic world: not with --data"
    mkdir -p "$out"
    train_set=()
    # The world without intent keeps its file name; one with intent names its spread.
    local tag="" intent_args=()
    if [ "$intent" != 0 ]; then tag=_intent$intent; intent_args=(--intent-spread "$intent"); fi
    if [ $quick = 1 ]; then
        train_set=(--set train.epochs=2 --set eval.max_users=1000)
        [ -n "$data" ] || { data=$out/synth_quick$tag.h5; ensure_data "$data" --impressions 600000 --users 10000 --items 3000 --seed 1 "${intent_args[@]}"; }
    else
        [ -n "$data" ] || { data=$out/synth$tag.h5; ensure_data "$data" --seed 1 "${intent_args[@]}"; }
    fi
}

# has_intent: whether $data is a synthetic world with purchase intent.
has_intent() { "$DMMP" data inspect "$data" | grep -q '^purchase intent: spread'; }

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
# one run into OUT/NAME/seedSEED. A run already evaluated is reused (so an
# interrupted driver can be restarted) only when it was made with the same
# settings (eval.done records them: --quick and the --set overrides) and
# dmmp report confirms by content hash that it was trained and evaluated on
# DATA (a copy of DATA elsewhere is the same dataset); otherwise the driver
# stops rather than mix it into the tables.
run_variant() {
    local out=$1 data=$2 name=$3 config=$4 seed=$5; shift 5
    local dir=$out/$name/seed$seed
    local stamp
    stamp=$(printf 'quick=%s\nset=%s\n' "$quick" "$*")
    if [ -f "$dir/eval.done" ]; then
        [ "$(cat "$dir/eval.done")" = "$stamp" ] ||
            die "$dir was made with other settings ($(tr '\n' ' ' < "$dir/eval.done")); now: $(echo "$stamp" | tr '\n' ' '). Remove it or choose another --out"
        "$DMMP" report "$dir" --data "$data" > /dev/null ||
            die "$dir was not trained and evaluated on $data; remove it or choose another --out"
        note "$name seed $seed: done already ($dir)"
        return 0
    fi
    note "$name seed $seed: training"
    local resume=()
    [ -f "$dir/last.h5" ] && resume=(--resume)
    "$DMMP" train --config "$config" --data "$data" --out "$dir" --seed "$seed" --variant "$name" \
        "${resume[@]}" "$@"
    note "$name seed $seed: evaluating"
    "$DMMP" eval --run "$dir" --data "$data" --split test > "$dir/eval.txt"
    echo "$stamp" > "$dir/eval.done"
}

# write_reports OUT BASENAME METRICS RUN_DIRS...: Markdown, LaTeX and CSV
# tables and the plots, of runs all trained and evaluated on $data (dmmp
# report refuses any other, and any mix of evaluation settings).
write_reports() {
    local out=$1 base=$2 metrics=$3; shift 3
    "$DMMP" report "$@" --data "$data" --format md --metrics "$metrics" --out "$out/$base.md"
    "$DMMP" report "$@" --data "$data" --format latex --metrics "$metrics" --out "$out/$base.tex"
    "$DMMP" report "$@" --data "$data" --format csv --metrics "$metrics" --out "$out/$base.csv"
    if command -v gnuplot > /dev/null; then
        "$DMMP" plot "$@" --out "$out/$base.png"
    else
        note "gnuplot not found: no plots (Debian: apt-get install gnuplot-nox)"
    fi
    note "wrote $out/$base.md, $base.tex, $base.csv"
}
