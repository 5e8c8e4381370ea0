#!/usr/bin/env bash
# All the tests: a short fuzz run of the wire codec (30 s); what ships, as
# installed by scripts/install.sh and as the Debian package in a fresh Debian 12
# (about 4 minutes from a clean tree, most of it the release build); then the
# Swift test suite, last, so the output ends with its count of tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fuzz.sh 30
scripts/test-shipping.sh
scripts/test-package.sh
swift test
