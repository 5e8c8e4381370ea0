#!/usr/bin/env bash
# Builds what is shipped and lays it out under STAGE as it goes under an
# install prefix (PREFIX, default /usr/local, only decides zsh's directory):
#   scripts/build-release.sh STAGE [PREFIX]
#
#   STAGE/bin/nbd-streaming, STAGE/bin/nbd-conformance
#       release builds with the Swift runtime linked in (scripts/swift-release.sh),
#       stripped: they need only Debian's libraries, not the toolchain
#   STAGE/share/man/man1/nbd-streaming.1, nbd-conformance.1
#       man/*.1.in completed from the binaries by nbd-manual (man/README.md)
#   STAGE/share/bash-completion/completions/NAME
#   STAGE/share/zsh/site-functions/_NAME (vendor-completions/ for PREFIX /usr)
#   STAGE/share/fish/vendor_completions.d/NAME.fish
#       swift-argument-parser's completion scripts
#
# nbd-streaming-faulty and nbd-bench are test and benchmark tools: never shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: scripts/build-release.sh STAGE [PREFIX]" >&2
    exit 2
fi
stage=$1
prefix=${2:-/usr/local}
products=(nbd-streaming nbd-conformance)
for product in "${products[@]}" nbd-manual; do
    scripts/swift-release.sh --product "$product"
done
built=$(scripts/swift-release.sh --show-bin-path)

# The manual's date is the last commit's, so a rebuild of the same tree makes the same page.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
else
    date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
fi
if [ "$prefix" = /usr ]; then zsh_dir=share/zsh/vendor-completions; else zsh_dir=share/zsh/site-functions; fi

install -d -m 755 "$stage/bin" "$stage/share/man/man1" "$stage/share/bash-completion/completions" \
    "$stage/$zsh_dir" "$stage/share/fish/vendor_completions.d"
for product in "${products[@]}"; do
    install -m 755 -s "$built/$product" "$stage/bin/$product"
    "$built/nbd-manual" --date "$date" "man/$product.1.in" "$stage/bin/$product" > "$stage/share/man/man1/$product.1"
    "$stage/bin/$product" --generate-completion-script bash > "$stage/share/bash-completion/completions/$product"
    "$stage/bin/$product" --generate-completion-script zsh > "$stage/$zsh_dir/_$product"
    "$stage/bin/$product" --generate-completion-script fish > "$stage/share/fish/vendor_completions.d/$product.fish"
    chmod 644 "$stage/share/man/man1/$product.1" "$stage/share/bash-completion/completions/$product" \
        "$stage/$zsh_dir/_$product" "$stage/share/fish/vendor_completions.d/$product.fish"
done
