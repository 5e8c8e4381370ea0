#!/usr/bin/env bash
# Builds the Debian package OUTDIR/nbd-streaming_VERSION_ARCH.deb:
#   scripts/package-deb.sh OUTDIR
# It holds what scripts/build-release.sh lays out, under /usr. VERSION is what
# the built nbd-streaming --version prints (Sources/ReleaseInfo). Depends is
# computed by dpkg-shlibdeps from the libraries the binaries link (libc6,
# libstdc++6, libgcc-s1, libnbd0, and whatever a new C dependency adds), so it
# cannot fall behind the code. Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
    echo "usage: scripts/package-deb.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The layout of a source package's build tree, which dpkg-shlibdeps expects.
root=$work/debian/nbd-streaming
scripts/build-release.sh "$root/usr" /usr >&2
# Debian policy: manual pages compressed, reproducibly.
gzip -9n "$root"/usr/share/man/man1/*.1
mkdir -m 755 "$root/DEBIAN"

read -r _ version < <("$root/usr/bin/nbd-streaming" --version)
architecture=$(dpkg --print-architecture)
printf 'Source: nbd-streaming\n\nPackage: nbd-streaming\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O "$root"/usr/bin/* | sed -n 's/^shlibs:Depends=//p')
cat > "$root/DEBIAN/control" <<CONTROL
Package: nbd-streaming
Version: $version
Architecture: $architecture
Maintainer: ${DEB_MAINTAINER:-nbd-streaming developers <nbd-streaming@invalid>}
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Suggests: qemu-utils, libnbd-bin
Section: admin
Priority: optional
Description: NBD server whose export is a stream, and its conformance gate
 nbd-streaming is an NBD server whose export is a stream: an NBD client's
 sequential writes come out of a local pipe or socket as raw bytes, or a pipe
 or socket feeds the client's sequential reads. It is a drop-in replacement
 for nbdkit's streaming plugin (nbdkit 1.24), which later nbdkit releases
 removed.
 .
 nbd-conformance checks NBD servers byte for byte through libnbd and writes
 JUnit XML for CI: streaming servers against the nbdkit streaming contract,
 and any writable NBD export against a model of a disk.
CONTROL
find "$root" -type d -exec chmod 755 {} +
deb=$outdir/nbd-streaming_${version}_${architecture}.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
echo "$deb"
