#!/usr/bin/env bash
# Fuzzes NBDProtocol's decoders with libFuzzer for SECONDS (default 60):
#   scripts/fuzz.sh [SECONDS]
# The target (fuzz/*.swift) is compiled with the codec's sources straight into
# one module by swiftc, with the fuzzer and address sanitizer, into
# .build-fuzz/ (no SwiftPM scratch path, so it never contends with `swift
# build`). Seeds come from fixtures/fuzz-corpus/ and are never written to; new
# inputs libFuzzer finds go to .build-fuzz/corpus/. Exits non-zero if any input
# crashes or breaks a property; the input is saved in .build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=.build-fuzz
mkdir -p "$out/corpus" "$out/artifacts"

# lld, because gold warns about every sanitizer symbol it cannot export.
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 \
    -warnings-as-errors -use-ld=lld -module-name NBDProtocolFuzz \
    Sources/NBDProtocol/*.swift fuzz/*.swift -o "$out/nbd-protocol-fuzzer"

# Swift's own crash handler would run inside ASan's and confuse its report.
export SWIFT_BACKTRACE=enable=no
# -max_len: the encoder side builds long names from short inputs, but the
# decoders need room for a whole 4 KiB name plus its header.
exec "$out/nbd-protocol-fuzzer" "$out/corpus" fixtures/fuzz-corpus \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/"
