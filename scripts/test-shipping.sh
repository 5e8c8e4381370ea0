#!/usr/bin/env bash
# What scripts/install.sh gives a user, checked on this machine:
#   - exactly the expected files, none of the test or benchmark tools;
#   - binaries that link no library of the Swift toolchain (ldd, no RUNPATH) and
#     run with the toolchain off PATH and off the loader's path: --version, and
#     the default conformance catalog, whose servers are the installed nbd-streaming;
#   - manual pages that mandoc -T lint, groff -ww and man -l render without a
#     warning, with nbdkit's sections, and listing exactly the options and
#     parameters that --help lists;
#   - bash, zsh and fish completions that complete options and key=value parameters;
#   - --uninstall (after a second install over the first) leaves PREFIX as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in ldd readelf mandoc groff man bash zsh fish timeout; do
    command -v "$tool" > /dev/null || { echo "test-shipping.sh: $tool is missing: run scripts/install-debian-packages.sh" >&2; exit 1; }
done
fail() { echo "test-shipping.sh: FAILED: $*" >&2; exit 1; }
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/ReleaseInfo/Release.swift)
[ -n "$version" ] || fail "no version in Sources/ReleaseInfo/Release.swift"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
# A prefix already in use: someone else's file and an empty directory must survive.
mkdir -p "$prefix/bin" "$prefix/share/man/man1"
echo 'not ours' > "$prefix/bin/other-tool"
snapshot() { find "$prefix" -printf '%y %m %s %P\n' | sort; }
snapshot > "$work/before"

scripts/install.sh --prefix "$prefix" | tee "$work/install.log"
expected="bin/nbd-conformance
bin/nbd-streaming
bin/other-tool
share/bash-completion/completions/nbd-conformance
share/bash-completion/completions/nbd-streaming
share/fish/vendor_completions.d/nbd-conformance.fish
share/fish/vendor_completions.d/nbd-streaming.fish
share/man/man1/nbd-conformance.1
share/man/man1/nbd-streaming.1
share/nbd-streaming/installed-files
share/zsh/site-functions/_nbd-conformance
share/zsh/site-functions/_nbd-streaming"
diff <(echo "$expected") <(find "$prefix" -type f -printf '%P\n' | sort) || fail "installed files differ from the expected ones (above)"
echo "install: $(grep -c '^installed ' "$work/install.log") files under PREFIX"

# --- The binaries: no toolchain library, and they run without the toolchain.
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
without_toolchain=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" TMPDIR=/tmp)
if "${without_toolchain[@]}" sh -c 'command -v swift swiftc' > /dev/null; then
    fail "the toolchain is on the system PATH, so running without it proves nothing"
fi
for product in nbd-streaming nbd-conformance; do
    binary=$prefix/bin/$product
    ldd "$binary" > "$work/ldd"
    if grep -F "$toolchain" "$work/ldd" || grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libXCTest|not found' "$work/ldd"; then
        fail "$product links the toolchain's libraries (above)"
    fi
    if readelf -d "$binary" | grep -E 'RPATH|RUNPATH'; then fail "$product carries a library search path (above)"; fi
    [ "$("${without_toolchain[@]}" "$binary" --version)" = "$product $version" ] || fail "$product --version is not '$product $version'"
    needed=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
    echo "$product: $(stat -c %s "$binary") bytes, needs $needed"
done
# The harness's default template starts the nbd-streaming installed beside it.
if ! timeout 600 "${without_toolchain[@]}" "$prefix/bin/nbd-conformance" -j 2 --junit "$work/report.xml" > "$work/conformance.log" 2>&1; then
    cat "$work/conformance.log"
    fail "the installed binaries failed the conformance catalog without the toolchain"
fi
echo "without the toolchain: $(tail -n 1 "$work/conformance.log")"

# --- Manual pages: lint-clean, nbdkit's sections, the same options and parameters as --help.
long_options_in_help() { "$prefix/bin/$1" --help | sed -nE 's/^  (-[a-zA-Z], )?(--[a-z][a-z0-9-]*).*/\2/p' | sort; }
section() { sed -n "/^$2\$/,/^[A-Z][A-Z ]*\$/p" "$1" | sed '1d;$d'; }
for product in nbd-streaming nbd-conformance; do
    page=$prefix/share/man/man1/$product.1
    # Down to style messages, but for the cross-references this machine has no page for.
    lint=$(mandoc -T lint -W style "$page" 2>&1 | grep -Ev 'referenced manual not found|mandoc\.db' || true)
    [ -z "$lint" ] || { echo "$lint"; fail "mandoc -T lint complains about $product.1"; }
    groff -ww -z -mandoc "$page" 2> "$work/groff.err"
    [ ! -s "$work/groff.err" ] || { cat "$work/groff.err"; fail "groff -ww warns about $product.1"; }
    MANWIDTH=80 man --warnings -l "$page" > "$work/page.raw" 2> "$work/man.err"
    [ ! -s "$work/man.err" ] || { cat "$work/man.err"; fail "man -l warns about $product.1"; }
    sed 's/.\x08//g' "$work/page.raw" > "$work/page.txt"
    case $product in
        nbd-streaming) sections="NAME SYNOPSIS DESCRIPTION PARAMETERS OPTIONS FILES EXIT_STATUS EXAMPLES SEE_ALSO" ;;
        nbd-conformance) sections="NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES EXIT_STATUS EXAMPLES SEE_ALSO" ;;
    esac
    found=$(grep -E '^[A-Z][A-Z ]+$' "$work/page.txt" | tr ' ' _ | tr '\n' ' ')
    [ "$found" = "$sections " ] || fail "$product.1 has sections '$found', expected '$sections '"
    grep -q "$product $version" "$work/page.txt" || fail "$product.1 does not show version $version"
    diff <(long_options_in_help "$product") \
        <(section "$work/page.txt" OPTIONS | grep -E '^     -' | grep -oE -- '--[a-z][a-z0-9-]*' | sort) ||
        fail "$product.1's OPTIONS and --help list different options (above: < --help, > page)"
done
help_parameters=$("$prefix/bin/nbd-streaming" --help | sed -nE 's/^  ([a-z]+=)[A-Z]+ .*/\1/p')
[ -n "$help_parameters" ] || fail "nbd-streaming --help lists no parameters"
MANWIDTH=80 man -l "$prefix/share/man/man1/nbd-streaming.1" 2> /dev/null | sed 's/.\x08//g' > "$work/page.txt"
diff <(echo "$help_parameters") <(section "$work/page.txt" PARAMETERS | sed -nE 's/^     ([a-z]+=)[A-Z]+$/\1/p') ||
    fail "nbd-streaming.1's PARAMETERS and --help list different parameters (above)"
echo "manual pages: lint-clean, $(echo "$help_parameters" | wc -l) parameters and every --help option listed"

# --- Completions, each in its own shell.
bash_complete() { # SCRIPT WORD... : the candidates bash offers for the last word
    bash --norc --noprofile -c 'shopt -s extglob; source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        function=$(complete -p "$1" | sed -E "s/.* -F ([^ ]+) .*/\1/")
        "$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}
fish_complete() { # SCRIPT COMMANDLINE
    fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$1" "$2" | cut -f1
}
expect() { # WHAT CANDIDATE OUTPUT
    grep -qx -- "$2" <<< "$3" || fail "$1 does not offer $2; it offered: $(tr '\n' ' ' <<< "$3")"
}
completions=$prefix/share
expect "bash, nbd-streaming --exit" --exit-with-parent \
    "$(bash_complete "$completions/bash-completion/completions/nbd-streaming" nbd-streaming --exit)"
expect "bash, nbd-streaming -f wri" write= \
    "$(bash_complete "$completions/bash-completion/completions/nbd-streaming" nbd-streaming -f wri)"
expect "bash, nbd-conformance --jun" --junit \
    "$(bash_complete "$completions/bash-completion/completions/nbd-conformance" nbd-conformance --jun)"
expect "fish, nbd-streaming --exit" --exit-with-parent \
    "$(fish_complete "$completions/fish/vendor_completions.d/nbd-streaming.fish" 'nbd-streaming --exit')"
expect "fish, nbd-streaming -f re" reorder= \
    "$(fish_complete "$completions/fish/vendor_completions.d/nbd-streaming.fish" 'nbd-streaming -f re')"
expect "fish, nbd-conformance --jun" --junit \
    "$(fish_complete "$completions/fish/vendor_completions.d/nbd-conformance.fish" 'nbd-conformance --jun')"
for product in nbd-streaming nbd-conformance; do
    zsh -n "$completions/zsh/site-functions/_$product" || fail "zsh cannot parse _$product"
    # compinit finds the function through its #compdef line, as it does in site-functions.
    bound=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"; print -r -- "$_comps[$3]"' \
        zsh "$completions/zsh/site-functions" "$work" "$product")
    [ "$bound" = "_$product" ] || fail "zsh's compinit binds '$bound' to $product"
done
echo "completions: bash, zsh and fish complete options and parameters"

# --- A second install over the first, then --uninstall: PREFIX is as it was.
scripts/install.sh --prefix "$prefix"
scripts/install.sh --prefix "$prefix" --uninstall
snapshot > "$work/after"
diff "$work/before" "$work/after" || fail "--uninstall left PREFIX different (above: < before, > after)"
echo "uninstall: PREFIX is as it was before the install"
echo "shipping test passed"
