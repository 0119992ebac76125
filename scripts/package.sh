#!/usr/bin/env bash
# Build the Debian package target/debian/rvs_<version>_<arch>.deb with
# cargo-deb: release binaries, man pages generated from the CLI
# definitions, systemd units, rvsadm-save/-restore, example configs, docs.
# Prints the .deb's path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
# The same build as test.sh, so packaging rebuilds nothing.
cargo build --release --workspace --bins
rm -rf target/man
target/release/rvs-mangen target/man >/dev/null
gzip -9n target/man/*.8
cargo deb -p rvs-ctrl --no-build --output target/debian/ 2>&1 | tail -n 1
