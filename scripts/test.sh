#!/usr/bin/env bash
# All the tests: a short fuzz run of the wire codec (30 s), then the Swift test
# suite, which ends the output with its own count of tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fuzz.sh 30
swift test
