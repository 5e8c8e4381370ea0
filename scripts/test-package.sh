#!/usr/bin/env bash
# The Debian package as a user meets it. scripts/package-deb.sh builds it; it is
# installed with `apt-get install ./nbd-streaming_VERSION_ARCH.deb` into a fresh
# Debian 12 made by mmdebstrap (variant apt: the essential packages and apt, plus
# qemu-utils as the user's client; no Swift toolchain anywhere), which must fetch
# every library the binaries need from the declared Depends. There it must print
# the packaged version, pass the README's stream both ways and the default
# conformance catalog, and then purge without leaving a file behind in /usr or /etc.
# The chroot and its mounts need root (sudo when not root); the Debian 12
# archive comes from the host's apt sources. Everything in the chroot runs in its own PID and mount namespaces,
# so a failure or the time limit ends every process and mount with it.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in mmdebstrap unshare dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" > /dev/null || { echo "test-package.sh: $tool is missing: run scripts/install-debian-packages.sh" >&2; exit 1; }
done
fail() { echo "test-package.sh: FAILED: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi

work=$(mktemp -d /var/tmp/nbd-streaming-package.XXXXXX)
trap '$sudo rm -rf "$work"' EXIT
deb=$(scripts/package-deb.sh "$work/out")
[ "$(basename "$deb")" = "nbd-streaming_$(dpkg-deb -f "$deb" Version)_$(dpkg --print-architecture).deb" ] || fail "package file name $deb"
dpkg-deb -c "$deb" | grep -E 'nbd-bench|nbd-streaming-faulty|nbd-manual' && fail "a test or build tool is in the package"
depends=$(dpkg-deb -f "$deb" Depends)
for needed in libc6 libnbd0 libgnutls30; do
    grep -qw "$needed" <<< "$depends" || fail "Depends lacks $needed: $depends"
done
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes; Depends: $depends"

mirror=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT)' 'Created-By: Packages' |
    awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
[ -n "$mirror" ] || fail "the host's apt sources name no Debian 12 (bookworm) main archive"
root=$work/debian12
started=$SECONDS
$sudo timeout 600 mmdebstrap --quiet --variant=apt --include=qemu-utils --skip=cleanup/apt/lists bookworm "$root" "$mirror"
echo "fresh Debian 12 with qemu-utils in $((SECONDS - started)) s, from $mirror"
$sudo cp "$deb" "$root/tmp/"

$sudo tee "$root/tmp/as-a-user.sh" > /dev/null <<'USER'
set -eu
cd /tmp
deb=$(echo nbd-streaming_*.deb)
version=${deb#nbd-streaming_}
version=${version%_*.deb}
snapshot() { find /usr /etc -xdev | sort; }
# sh has no pipefail: apt's status is checked before its log is shortened.
quiet_apt() {
    apt-get -o Dpkg::Use-Pty=0 "$@" > apt.log 2>&1 || { cat apt.log; return 1; }
    grep -Ev '^(Get|Selecting|Preparing|Reading database|debconf: delaying)' apt.log || true
}
snapshot > before

echo "--- apt-get install ./$deb"
quiet_apt install -y --no-install-recommends "./$deb"
echo "--- installed"
[ "$(nbd-streaming --version)" = "nbd-streaming $version" ]
[ "$(nbd-conformance --version)" = "nbd-conformance $version" ]
echo "nbd-streaming --version and nbd-conformance --version print $version"
test -f /usr/share/man/man1/nbd-streaming.1.gz && test -f /usr/share/man/man1/nbd-conformance.1.gz

head -c 16M /dev/urandom > input.raw
mkfifo pipe
cat pipe > streamed.raw &
nbd-streaming -U - write=./pipe --run 'qemu-img convert -n -f raw input.raw -O raw $nbd'
wait $!
cmp input.raw streamed.raw
echo "write mode: 16 MiB from qemu-img came out of the pipe unchanged"
cat input.raw > pipe &
nbd-streaming -U - read=./pipe size=16M --run 'qemu-img convert -f raw $nbd -O qcow2 output.qcow2'
wait $!
qemu-img compare -q -f raw -F qcow2 input.raw output.qcow2
echo "read mode: 16 MiB fed into the pipe became an identical qcow2 image"
nbd-conformance -j 2 --junit report.xml > conformance.log || { cat conformance.log; exit 1; }
tail -n 1 conformance.log

echo "--- apt-get purge nbd-streaming && apt-get autoremove --purge"
quiet_apt purge -y nbd-streaming
quiet_apt autoremove --purge -y
snapshot > after
if ! diff before after; then echo "files left behind or removed (above)"; exit 1; fi
hash -r
if command -v nbd-streaming nbd-conformance; then echo "still on PATH"; exit 1; fi
echo "--- purged: /usr and /etc hold the same paths as before the install"
USER

started=$SECONDS
$sudo timeout 600 unshare --mount --pid --fork --kill-child sh -c \
    'mount -t proc proc "$1/proc" && exec chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive sh /tmp/as-a-user.sh' \
    sh "$root"
echo "install, streams, conformance and purge in $((SECONDS - started)) s"
echo "package test passed"
