#!/usr/bin/env python3
"""Exact top-K inner-product search with FAISS IndexFlatIP, timed like
`dmmp bench retrieve`: a random standard-normal corpus and queries, one
warm-up search, then REPEAT timed searches of all queries at once.

Prints one line per timed search, "faiss queries_per_s X", then the FAISS
build options and the BLAS library the process loaded (FAISS hands the
query x corpus products of 20 or more queries to BLAS sgemm)."""
import argparse
import os
import sys
import time

import numpy as np

try:
    import faiss
except ImportError as e:
    sys.exit(f"faiss_flat_ip.py: cannot import faiss ({e}); Debian: apt-get install python3-faiss")


def loaded_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(libs)) or "none"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=1000000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1024)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    faiss.omp_set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    items = rng.standard_normal((a.items, a.dim), dtype=np.float32)
    queries = rng.standard_normal((a.queries, a.dim), dtype=np.float32)
    index = faiss.IndexFlatIP(a.dim)
    index.add(items)
    for run in range(-1, a.repeat):
        t0 = time.perf_counter()
        index.search(queries, a.k)
        t = time.perf_counter() - t0
        if run >= 0:
            print(f"faiss queries_per_s {a.queries / t:.1f}", flush=True)
    opts = faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else "unknown"
    print(f"faiss {faiss.__version__}, compile options {opts.strip()}, {a.threads} threads, blas {loaded_blas()}")


if __name__ == "__main__":
    main()
