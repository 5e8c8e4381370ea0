#!/usr/bin/env bash
# `swift build` of the shipped configuration, for every release build of the
# tree (scripts/build-release.sh, scripts/demo.sh, bench/run.py): the Swift
# runtime linked in, so the binaries run without the toolchain, and no $ORIGIN
# RUNPATH. One set of flags, since a build with other flags recompiles everything.
#   scripts/swift-release.sh --product nbd-streaming
#   scripts/swift-release.sh --show-bin-path
exec swift build --package-path "$(dirname "$0")/.." -c release --static-swift-stdlib --disable-local-rpath "$@"
