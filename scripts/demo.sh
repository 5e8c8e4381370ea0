#!/usr/bin/env bash
# A real stream, both ways: qemu-img writes a disk image through nbd-streaming
# into a FIFO that `cat` drains, then qemu-img reads it back from a FIFO that
# `cat` feeds. Both copies are compared byte for byte with the original.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/swift-release.sh --product nbd-streaming
server=$(scripts/swift-release.sh --show-bin-path)/nbd-streaming
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

head -c 64M /dev/urandom > input.raw
mkfifo pipe

cat pipe > streamed.raw &
reader=$!
"$server" -U - write=./pipe size=64M --run 'qemu-img convert -n -f raw input.raw -O raw $nbd'
wait "$reader"
cmp input.raw streamed.raw
echo "write mode: 64 MiB from qemu-img came out of the pipe unchanged"

cat input.raw > pipe &
"$server" -U - read=./pipe size=64M --run 'qemu-img convert -f raw $nbd -O qcow2 output.qcow2'
wait
qemu-img compare -q -f raw -F qcow2 input.raw output.qcow2
echo "read mode: 64 MiB fed into the pipe became an identical qcow2 image"
