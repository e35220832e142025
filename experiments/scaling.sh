#!/bin/sh
# Data-parallel training, measured and modelled (README: "Scaling").
#
# Measures `dmmp bench train` with one process and with `mpirun -np 2` (one
# thread per rank) for two table sizes, then models the step at 2 to 64
# nodes on a network of BW Gb/s with LAT microseconds per message:
#   compute  t_c: the one-process step (it does not change with N: each rank
#            keeps its batch);
#   dense    2 (N-1)/N x 4P bytes per rank (the exchange's alltoallv +
#            allgatherv, as a ring allreduce) + 2 (N-1) messages;
#   sparse, replicated tables: every rank receives the other N-1 ranks'
#            packets of touched rows (s bytes each, measured at N = 2) +
#            N-1 messages, and merges N packets (the measured merge time
#            per packet, times N);
#   sparse, sharded tables (model.table_placement = sharded): each rank
#            sends its rows' ids and receives their vectors, then sends
#            their gradients, (N-1)/N of 2s bytes + 4 (N-1) messages,
#            whatever N. The np = 2 sharded run is measured too: the bytes
#            a rank receives for the sharded tables per step (ids, vectors
#            and gradients; the mean over the ranks and its range) beside
#            the modelled s, and its exchange and lookup times.
# Throughput = N B / (t_c + t_dense + t_sparse); efficiency = t_c / step.
# No overlap of communication with computation is assumed.
#
# usage: experiments/scaling.sh [-q]    (-q: a quick smoke run, not a measurement)
# Environment: DMMP (default ./dmmp), CONFIG (default
# experiments/configs/bench_default.ini), BW (25), LAT (5), VOCABS ("100000
# 500000": rows per synthetic table), MPIRUN (default "mpirun
# --allow-run-as-root --oversubscribe").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
quick=0
[ "${1:-}" = -q ] && quick=1
dmmp=${DMMP:-./dmmp}
config=${CONFIG:-$here/configs/bench_default.ini}
bw=${BW:-25}
lat=${LAT:-5}
vocabs=${VOCABS:-100000 500000}
mpirun=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
cores=$(nproc --all)
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} DMMP_LOG=warn
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
steps=20 repeat=5
[ $quick = 1 ] && steps=3 repeat=1
"$dmmp" env | grep -q "built with MPI" || { echo "scaling.sh: dmmp is built without MPI" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmmp-scaling.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The median of figure $2 in bench output $1.
fig() { awk -v k="$2" '$1 == k && $2 == "median" { print $3; exit }' "$1"; }

echo "# Data-parallel training: measured and modelled"
echo
echo "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $cores cores; $(uptime | sed 's/.*load/load/'); commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "bench train --config $(basename "$config"), 1 thread per rank, $steps steps x $repeat runs, medians"
for v in $vocabs; do
    args="--config $config --threads 1 --steps $steps --repeat $repeat --warmup 3 --vocab $v"
    # shellcheck disable=SC2086
    "$dmmp" bench train $args > "$tmp/one.txt" 2>&1 || { cat "$tmp/one.txt" >&2; exit 1; }
    # shellcheck disable=SC2086
    $mpirun -np 2 "$dmmp" bench train $args > "$tmp/two.txt" 2>&1 || { cat "$tmp/two.txt" >&2; exit 1; }
    # shellcheck disable=SC2086
    $mpirun -np 2 "$dmmp" bench train $args --set model.table_placement=sharded > "$tmp/sh.txt" 2>&1 || { cat "$tmp/sh.txt" >&2; exit 1; }
    batch=$(sed -n 's/.*batch \([0-9]*\) each.*/\1/p' "$tmp/two.txt" | head -1)
    awk -v bw="$bw" -v lat="$lat" -v vocab="$v" -v batch="$batch" \
        -v one="$(fig "$tmp/one.txt" train_samples_per_s)" \
        -v job="$(fig "$tmp/two.txt" job_train_samples_per_s)" \
        -v ex="$(fig "$tmp/two.txt" ms_exchange)" \
        -v merge="$(fig "$tmp/two.txt" ms_exchange_merge)" \
        -v dense="$(fig "$tmp/two.txt" exchange_dense_bytes_per_step)" \
        -v sparse="$(fig "$tmp/two.txt" exchange_sparse_bytes_per_step)" \
        -v shjob="$(fig "$tmp/sh.txt" job_train_samples_per_s)" \
        -v shbytes="$(fig "$tmp/sh.txt" sharded_bytes_per_step_rank_mean)" \
        -v shrange="$(awk '$1 == "sharded_bytes_per_step_rank_mean" { printf "%.2f-%.2f", $5 / 1e6, $7 / 1e6; exit }' "$tmp/sh.txt")" \
        -v shex="$(fig "$tmp/sh.txt" ms_exchange)" \
        -v shfwd="$(fig "$tmp/sh.txt" ms_features_forward)" \
        -v fwd="$(fig "$tmp/two.txt" ms_features_forward)" '
    BEGIN {
        tc = 1e3 * batch / one                      # ms, one process
        full = dense                                # 2 (N-1)/N x 4P at N = 2 is 4P
        B = bw * 1e9 / 8 / 1e3                      # bytes per ms
        a = lat * 1e-3                              # ms per message
        printf "\n## %d rows per table (batch %d per rank)\n\n", vocab, batch
        printf "Measured: one process %.0f samples/s (%.1f ms/step); mpirun -np 2 on this machine %.0f samples/s, ", one, tc, job
        printf "exchange %.2f ms/step (merge %.2f ms), dense %.2f MB and sparse %.2f MB received per rank per step.\n", ex, merge, dense / 1e6, sparse / 1e6
        printf "Sharded tables, mpirun -np 2: %.0f samples/s, %.2f MB per rank per step for the sharded tables (ids, vectors, gradients; mean over the ranks, %s MB; modelled: s = %.2f MB), ", shjob, shbytes / 1e6, shrange, sparse / 1e6
        printf "exchange %.2f ms/step, feature forward with the lookups %.2f ms/step (replicated %.2f).\n\n", shex, shfwd, fwd
        printf "Model, %g Gb/s and %g us per message:\n\n", bw, lat
        printf "| nodes | dense ms | sparse ms, replicated | samples/s, replicated | efficiency | sparse ms, sharded | samples/s, sharded | efficiency |\n"
        printf "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for (n = 1; n <= 64; n *= 2) {
            td = n > 1 ? 2 * (n - 1) / n * full / B + 2 * (n - 1) * a : 0
            tr = n > 1 ? (n - 1) * sparse / B + (n - 1) * a + merge * n / 2 : 0
            ts = n > 1 ? 2 * sparse * (n - 1) / n / B + 4 * (n - 1) * a : 0
            printf "| %d | %.2f | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", n, td, tr, n * batch / (tc + td + tr) * 1e3,
                   tc / (tc + td + tr), ts, n * batch / (tc + td + ts) * 1e3, tc / (tc + td + ts)
        }
    }'
done
