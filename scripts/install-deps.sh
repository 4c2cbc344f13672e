#!/usr/bin/env bash
# Installs the Debian 12 packages pollux needs, only those missing (apt-get update once
# first). Usage: scripts/install-deps.sh [build|fuzz|interop|bench|all]...  (default: build)
# Run as root on a fresh machine; as a normal user it lists what is missing and fails.
set -euo pipefail

declare -A groups=(
  [build]="g++ meson ninja-build pkg-config dpdk libdpdk-dev python3-pyelftools libboost-dev zlib1g-dev catch2"
  [fuzz]="clang-14 libclang-rt-14-dev"
  [interop]="iproute2 iptables iputils-ping python3-scapy dpdk-dev curl apache2-utils wrk netcat-openbsd"
  [bench]="python3-matplotlib dpdk-dev iproute2 util-linux gdb"
)

wanted=()
for group in "${@:-build}"; do
  if [ "$group" = all ]; then
    for g in "${!groups[@]}"; do read -ra pkgs <<<"${groups[$g]}"; wanted+=("${pkgs[@]}"); done
  elif [ -n "${groups[$group]:-}" ]; then
    read -ra pkgs <<<"${groups[$group]}"
    wanted+=("${pkgs[@]}")
  else
    echo "install-deps: unknown group '$group' (build, fuzz, interop, bench, all)" >&2
    exit 2
  fi
done

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
