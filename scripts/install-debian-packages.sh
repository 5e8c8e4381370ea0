#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests, the examples and the
# benchmark use.
# The Swift 6 toolchain itself is not a Debian package; it must be on PATH.
set -euo pipefail
packages=(
  libnbd-dev    # libnbd headers for the tests' and the harness's client
  libgnutls28-dev # GnuTLS headers for the TLS module
  gnutls-bin    # psktool and certtool: the tests make their keys and certificates
  libnbd-bin    # nbdcopy, nbdinfo
  nbdkit        # peer servers (null, memory) for the harness and the benchmark
  qemu-utils    # qemu-img
  libxml2-utils # xmllint, to validate JUnit reports against the XSD
  python3       # bench/run.py (standard library only)
  # shipping: scripts/build-release.sh, install.sh, package-deb.sh and their tests
  binutils      # strip, readelf
  dpkg-dev      # dpkg-shlibdeps computes the package's Depends
  groff-base    # groff -ww lints the manual pages
  man-db        # man -l renders them
  mandoc        # mandoc -T lint
  zsh           # the completion scripts, run by their shells
  fish
  mmdebstrap    # a fresh Debian 12 to install the package into
)
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
