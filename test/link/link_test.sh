#!/usr/bin/env bash
# Links a 5-line C program against libpollux using only pkg-config on the uninstalled
# tree (what a user does after `meson install`, with the installed .pc), shared and
# static, and runs both.  Usage: link_test.sh BUILD_ROOT SOURCE_FILE CC SANITIZE
set -euo pipefail
build=$1 src=$2 cc=$3 sanitize=$4
export PKG_CONFIG_PATH="$build/meson-uninstalled"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

san=()
[ "$sanitize" != none ] && san=(-fsanitize="$sanitize")

echo "link line: $(pkg-config --libs pollux)"
libdir=$(pkg-config --libs-only-L pollux | sed 's/^-L//; s/ .*//')

# shellcheck disable=SC2046
"$cc" "${san[@]}" -std=c11 -Wall -Werror $(pkg-config --cflags pollux) "$src" -o "$work/shared" $(pkg-config --libs pollux)
LD_LIBRARY_PATH="$libdir" "$work/shared"

# Static pollux over Debian's shared DPDK: the archive by path (the linker would prefer
# the .so), DPDK's shared link line, and the C++ runtime pollux is written against.
# shellcheck disable=SC2046
"$cc" "${san[@]}" -std=c11 -Wall -Werror $(pkg-config --cflags pollux) "$src" -o "$work/static" \
    "$libdir/libpollux.a" $(pkg-config --libs libdpdk) -lstdc++ -lm
"$work/static"
