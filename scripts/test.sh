#!/usr/bin/env bash
# The whole test suite: set-up, the Swift tests (release build: the allocation contract and the
# end-to-end checks are for optimized code) and the command-line checks of scripts/cli-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
snn=$(bash scripts/build.sh)
swift test -c release -Xswiftc -enable-testing
SNN="$snn" bash scripts/cli-tests-formats.sh
SNN="$snn" bash scripts/cli-tests.sh
SNN="$snn" bash scripts/cli-tests-sweeps.sh
SNN="$snn" bash scripts/cli-tests-wrn.sh
