#!/usr/bin/env bash
# One release build shared by the CLI and the tests (same flags, so nothing is compiled twice).
# Prints the path of the snn binary.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release -Xswiftc -enable-testing --product snn >&2
echo "$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/snn"
