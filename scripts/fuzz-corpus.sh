#!/usr/bin/env bash
# Regenerates the fuzzing seed corpus in fixtures/fuzz-corpus/ from the codec's
# own encoders (fuzz/seeds/MakeSeeds.swift). Run after a wire format change.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out"
swiftc -parse-as-library -swift-version 6 -warnings-as-errors -module-name NBDProtocolSeeds \
    Sources/NBDProtocol/*.swift fuzz/seeds/MakeSeeds.swift -o "$out/make-seeds"
rm -rf fixtures/fuzz-corpus
"$out/make-seeds" fixtures/fuzz-corpus
