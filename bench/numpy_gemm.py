#!/usr/bin/env python3
"""Practical single-thread float32 GEMM peak: numpy (OpenBLAS) at the shapes of the GEMM benchmark.

Run single-threaded, with the machine's OpenBLAS kernel overrides removed for this command only
(they force a slower OpenBLAS kernel, measured at about half the speed):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python3 bench/numpy_gemm.py

If threadpoolctl is installed it is used as well (belt and braces); it is not required.
Transposed operands are passed as numpy transposed views (no copy), as BLAS sees them.
GFLOP/s = 2·m·n·k / median time of one call.
"""
import os
import time

import numpy as np

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # OPENBLAS_NUM_THREADS=1 does the job
    threadpool_limits = None


def shapes(rng):
    f = lambda *s: rng.standard_normal(s, dtype=np.float32)
    x, w, g = f(100, 785), f(785, 128), f(100, 128)
    big_a, big_b = f(1024, 1024), f(1024, 1024)
    return [
        ("sgemm 100x785x128 (m×k×n, forward)", 100, 128, 785, lambda: x @ w),
        ("sgemm 785x128x100 transA (dW = XᵀG)", 785, 128, 100, lambda: x.T @ g),
        ("sgemm 100x785x128 transB (dX = GWᵀ)", 100, 785, 128, lambda: g @ w.T),
        ("sgemm 1024x1024x1024", 1024, 1024, 1024, lambda: big_a @ big_b),
        ("3x785x128 (fewRows shape)", 3, 128, 785, (lambda a: (lambda: a @ w))(f(3, 785))),
    ]


def bench(fn, flops, min_time=1.0):
    for _ in range(3):
        fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 10:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return flops / times[len(times) // 2] / 1e9, flops / times[0] / 1e9, len(times)


def main():
    print(f"numpy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    rng = np.random.default_rng(0)
    print(f"{'shape':42s} {'median GFLOP/s':>15s} {'best GFLOP/s':>13s} {'calls':>7s}")
    for name, m, n, k, fn in shapes(rng):
        med, best, calls = bench(fn, 2.0 * m * n * k)
        print(f"{name:42s} {med:15.1f} {best:13.1f} {calls:7d}")


if __name__ == "__main__":
    if threadpool_limits is not None:
        with threadpool_limits(limits=1):
            main()
    else:
        main()
