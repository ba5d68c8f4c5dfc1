#!/usr/bin/env bash
# Side-by-side per-sample speed of an MC-dropout wide ResNet (random weights, one 3×32×32 image):
# snn (bench/Tools/wrn-speed, release build, -target-cpu native as the product) and PyTorch
# (scripts/pytorch/bench_wrn.py, CPU wheel in a private venv, installed on first use), both in
# this one invocation, with the same thread count. Prints ms per sample and GFLOP/s for
# (a) sampled forward (dropout masks + forward) and (b) forward + one VJP to the input.
#
#   bash scripts/bench-wrn.sh                      # WRN-28-10, threads = 1
#   bash scripts/bench-wrn.sh --threads 2          # threads = 1, then 2
#   bash scripts/bench-wrn.sh --quick              # WRN-16-4 instead (seconds, not minutes)
#   bash scripts/bench-wrn.sh --depth 16 --widen 4 --rounds 3 --iterations 10 --warmup 2
#
# Each round runs snn, then PyTorch (--warmup untimed + --iterations timed calls per operation,
# a fresh process each); the table gives the median of all rounds' timed calls, so both sides
# sample the same background load (default 2 rounds × 5 calls).
# GFLOP/s = FLOPs / median time, forward = 2·multiply-adds (convs + linear); forward+VJP is
# credited with 3× the forward (VJP counted as 2× forward; an input-only VJP executes about 1×).
# Threads: snn runs T samples concurrently, one per thread (its evaluator's parallelism), and
# reports wall/T; PyTorch runs one sample at a time with T intra-op threads.
# Needs scripts/setup.sh (jemalloc, zlib) and network access for the bench package's
# dependencies and, on first use, the PyTorch wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

max_threads=1 depth=28 widen=10 rounds=2 iterations=5 warmup=1
while (($#)); do
  case "$1" in
    --threads) max_threads=$2; shift 2 ;;
    --depth) depth=$2; shift 2 ;;
    --widen) widen=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --quick) depth=16 widen=4 iterations=10 warmup=2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench-wrn.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $max_threads == 1 || $max_threads == 2 ]] || { echo "bench-wrn.sh: --threads must be 1 or 2" >&2; exit 2; }

bash scripts/setup.sh
echo "bench-wrn: building bench/wrn-speed (release)…" >&2
(cd bench && swift build -c release --product wrn-speed >&2)
speed="$(cd bench && swift build -c release --show-bin-path)/wrn-speed"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((t = 1; t <= max_threads; t++)); do
  for ((r = 1; r <= rounds; r++)); do
    "$speed" wrn --depth "$depth" --widen "$widen" --threads "$t" --iterations "$iterations" --warmup "$warmup" >>"$out"
    python3 scripts/pytorch/bench_wrn.py --depth "$depth" --widen "$widen" --threads "$t" \
      --iterations "$iterations" --warmup "$warmup" >>"$out"
  done
done

python3 - "$out" <<'PY'
import json, os, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
times, flops = {}, {}
for r in rows:
    key = (r["impl"], r["threads"], r["op"])
    times.setdefault(key, []).extend(r["times_ms"])
    flops[key] = r["flops"]
med = {k: statistics.median(v) for k, v in times.items()}
def gflops(k): return flops[k] / med[k] / 1e6
model, n = rows[0]["model"], len(next(iter(times.values())))
print(f"\n{model}, one 3×32×32 image, median of {n} timed calls per cell; "
      f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
head = f"{'threads':>7}  {'op':<12} {'snn ms':>9} {'torch ms':>9} {'snn GFLOP/s':>12} {'torch GFLOP/s':>14} {'torch/snn time':>15}"
print(head)
print("-" * len(head))
for t in sorted({r["threads"] for r in rows}):
    for op in ("forward", "forward+vjp"):
        s, p = ("snn", t, op), ("pytorch", t, op)
        print(f"{t:>7}  {op:<12} {med[s]:>9.2f} {med[p]:>9.2f} {gflops(s):>12.1f} {gflops(p):>14.1f} {med[p] / med[s]:>14.2f}×")
print("(torch/snn time > 1: snn is faster. ms per sample = wall time / threads for snn. "
      "forward+vjp FLOPs = 3× forward, i.e. VJP counted as 2× forward.)")
PY
