"""OpenBLAS (through numpy) SGEMM throughput for the shapes of Minimind's CPU benchmarks.

Same three nn.Linear layouts as SgemmBenchmarks (M x K x N, Y[M,N] = X[M,K] . W[N,K]^T):
  fwd    Y  = X  @ W.T
  bwdIn  dX = dY @ W
  bwdW   dW = dY.T @ X
Debian's numpy links the netlib reference BLAS (2-3 GFLOP/s); to measure OpenBLAS without installing it
system-wide, unpack it and preload it for this command only:
  cd /tmp/openblas && apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb root
  LD_LIBRARY_PATH=/tmp/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread \
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/bench/sgemm_numpy.py
Prints the best of 7 timed runs per case in GFLOP/s.
"""
import sys
import time

import numpy as np

SHAPES = [(512, 1408, 512), (2048, 512, 6400)]


def best_time(f, reps=7):
    f()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    rng = np.random.default_rng(1)
    print(f"numpy {np.__version__}", file=sys.stderr)
    try:
        np.show_config()
    except Exception:  # show_config's output is informative only
        pass
    for m, k, n in SHAPES:
        x = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((n, k), dtype=np.float32)
        dy = rng.standard_normal((m, n), dtype=np.float32)
        cases = {
            "fwd": lambda: x @ w.T,
            "bwdIn": lambda: dy @ w,
            "bwdW": lambda: dy.T @ x,
        }
        for name, f in cases.items():
            t = best_time(f)
            print(f"{m}x{k}x{n} {name}: {2.0 * m * n * k / t / 1e9:.1f} GFLOP/s ({t * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
