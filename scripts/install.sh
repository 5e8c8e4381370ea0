#!/usr/bin/env bash
# Installs nbd-streaming and nbd-conformance with their manual pages and shell
# completions, or removes exactly what an earlier install put there:
#   scripts/install.sh [--prefix DIR]               (default /usr/local)
#   scripts/install.sh [--prefix DIR] --uninstall
# Builds as the calling user (scripts/build-release.sh), and copies through sudo
# only when PREFIX is not writable. PREFIX/share/nbd-streaming/installed-files
# lists the installed files and the directories the install created;
# --uninstall removes those files, then those directories if they are empty.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
uninstall=false
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --uninstall) uninstall=true; shift ;;
        -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument '$1'; try --help" >&2; exit 2 ;;
    esac
done
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
prefix=${prefix%/}
manifest=$prefix/share/nbd-streaming/installed-files

existing=$prefix
while [ ! -e "$existing" ]; do existing=$(dirname "$existing"); done
if [ -w "$existing" ]; then as_owner=(); else as_owner=(sudo); fi

listed() { [ -f "$manifest" ] && sed -n "s/^$1 //p" "$manifest" || true; }

# Deepest first, so that a created directory has lost its created subdirectories before its turn.
remove_empty_directories() {
    awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- | while read -r directory; do
        "${as_owner[@]}" rmdir "$directory" 2>/dev/null || true
    done
}

if $uninstall; then
    if [ ! -f "$manifest" ]; then
        echo "install.sh: nothing to uninstall: $manifest does not exist" >&2
        exit 1
    fi
    files=$(listed file)
    directories=$(listed directory)
    while read -r file; do "${as_owner[@]}" rm -f "$file"; done <<< "$files"
    "${as_owner[@]}" rm -f "$manifest"
    remove_empty_directories <<< "$directories"
    echo "removed nbd-streaming from $prefix"
    exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts/build-release.sh "$stage" "$prefix"

previous_files=$(listed file)
created=$(listed directory)
make_directory() {
    [ -d "$1" ] && return
    make_directory "$(dirname "$1")"
    "${as_owner[@]}" mkdir -m 755 "$1"
    created+=$'\n'"$1"
}

files=
while read -r relative; do
    case $relative in bin/*) mode=755 ;; *) mode=644 ;; esac
    make_directory "$(dirname "$prefix/$relative")"
    "${as_owner[@]}" install -m "$mode" "$stage/$relative" "$prefix/$relative"
    files+="$prefix/$relative"$'\n'
done < <(cd "$stage" && find . -type f -printf '%P\n' | sort)
make_directory "$(dirname "$manifest")"
# A file an earlier version installed and this one does not is removed now, so --uninstall never misses it.
comm -23 <(sort <<< "$previous_files") <(sort <<< "$files") | while read -r stale; do
    [ -n "$stale" ] && "${as_owner[@]}" rm -f "$stale"
done
{
    sed '/^$/d; s/^/file /' <<< "$files"
    sed '/^$/d; s/^/directory /' <<< "$created" | sort -u
} > "$stage/installed-files"
"${as_owner[@]}" install -m 644 "$stage/installed-files" "$manifest"
sed '/^$/d; s/^/installed /' <<< "$files"
