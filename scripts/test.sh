#!/usr/bin/env bash
# The whole test suite: set-up, the Swift tests (release build: the allocation contract and the
# end-to-end checks are for optimized code), the command-line checks of scripts/cli-tests*.sh and
# the quick reproduction (scripts/reproduce --quick: plots and report build), also in a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
snn=$(bash scripts/build.sh)
swift test -c release -Xswiftc -enable-testing
SNN="$snn" bash scripts/cli-tests-formats.sh
SNN="$snn" bash scripts/cli-tests.sh
SNN="$snn" bash scripts/cli-tests-sweeps.sh
SNN="$snn" bash scripts/cli-tests-share.sh
SNN="$snn" bash scripts/cli-tests-summarize.sh
SNN="$snn" bash scripts/cli-tests-wrn.sh
# README's pandas lines and scripts/examples (pandas + matplotlib from PyPI in the private venv)
SNN="$snn" bash scripts/test-examples.sh
# the exact tests behind the report's verdicts, on cases with known answers
python3 scripts/test_stats.py
SNN="$snn" bash scripts/cli-tests-standalone.sh
# --adversarial-out, --progress, finding models, install.sh; SNN_STATIC=1 adds the static build
SNN="$snn" bash scripts/cli-tests-workflow.sh
SNN="$snn" bash scripts/cli-tests-hostile.sh
# libFuzzer on every parser of untrusted input, 12 s per target (its own instrumented build in .build-fuzz)
bash scripts/fuzz
# the reproduction chain in quick mode (a reduced run, plots with matplotlib from PyPI, the report)
repro=$(mktemp -d); trap 'rm -rf "$repro"' EXIT
SNN="$snn" python3 scripts/reproduce --quick --out "$repro" --report "$repro/REPORT.md"
grep -q "## The paper's claims against our measurements" "$repro/REPORT.md" && ls "$repro"/figures/fig05_fgm_accuracy.{png,svg} >/dev/null
echo "reproduce --quick: report and figures built"
# the tiny version of the paper's grid (--full's extra paths: the WRNs' fresh set, FGSM and PGD, the
# one-sample S_I sweep; ~19 s)
SNN="$snn" python3 scripts/reproduce --quick --full --out "$repro/full" --report "$repro/full/REPORT.md"
grep -q "Grid — tiny version of the paper's grid" "$repro/full/REPORT.md"
sed -n '/fresh inference set (FGM)/,/^## The paper/p' "$repro/full/REPORT.md" | grep -q '^| wrn-fmnist-p06 | 10 | 5 |'
echo "reproduce --quick --full: report with the WRNs' fresh set built"
