#!/usr/bin/env bash
# Installs everything rvs needs on a fresh Debian 12 machine (run as root).
# Idempotent: packages already present are not reinstalled and apt-get update
# runs only when something is missing.
set -euo pipefail

PKGS=(dpdk libdpdk-dev dpdk-dev libclang-dev clang pkg-config iproute2 curl socat
      python3 python3-scapy tcpdump ethtool nftables procps iputils-ping libpcap-dev gnuplot-nox valgrind
      prometheus dpkg-dev systemd bird2 libpopt-dev)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Packages with services (prometheus) must not start them: the tests
  # run their own instances inside network namespaces.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup.sh: cargo not found; rvs needs a Rust toolchain (rustup) on PATH" >&2
  exit 1
fi
pkg-config --exists libdpdk || { echo "setup.sh: libdpdk not found by pkg-config" >&2; exit 1; }
# cargo-deb builds the Debian package (scripts/package.sh); from crates.io.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "setup.sh: installing cargo-deb"
  cargo install cargo-deb --locked
fi
