#!/usr/bin/env bash
# The Debian packages bench/run.py needs beyond the build's: the peer servers and copy tools it measures,
# and python3 for the driver. rsvg-convert (librsvg2-bin) only to look at docs/benchmark.svg as a PNG.
set -euo pipefail
packages=(
  nbdkit        # the null and memory plugins: the protocol's floor and a server that keeps the bytes
  libnbd-bin    # nbdcopy
  libnbd-dev    # libnbd for nbd-bench's client
  qemu-utils    # qemu-img convert
  python3       # bench/run.py, standard library only
)
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
