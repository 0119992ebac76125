#!/usr/bin/env bash
# Build rvs and run every test: unit, property, golden, pcap-driven and the
# netns lab end-to-end tests (those need root and /dev/net/tun; they fail
# loudly, never skip, when either is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TERM_COLOR=never
# Lab tests use fixed namespace names: clear what a crashed run may have left.
for id in $(ip netns list 2>/dev/null | sed -n 's/^rvs\([a-z0-9]*\)-dir.*/\1/p'); do
  ./scripts/lab.sh down --id "$id" >/dev/null 2>&1 || true
done
for id in $(ip netns list 2>/dev/null | sed -n 's/^rvs\([a-z0-9]*\)-d1\( .*\)\{0,1\}$/\1/p'); do
  ./scripts/lab-ecmp.sh down --id "$id" >/dev/null 2>&1 || true
done
cargo build --release --workspace --bins
cargo test --release --workspace -- --test-threads=2
# rvsadm against ipvsadm 1.31 itself (tests/ipvsadm-ref: its source built
# against an in-memory IPVS): a bounded run of generated command lines,
# which must stay at least this identical; longer runs: scripts/ipvsadm-diff.sh.
./scripts/ipvsadm-diff.sh --sequences 20 --lines 30 --seed 1 --min-match 88
# The Debian package: built, installed with dpkg -i, checked, purged.
./scripts/deb-test.sh
# A bounded soak: valid traffic through all four modes while malformed and
# fuzzed frames are injected on both sides (scripts/soak.sh runs it long).
./scripts/soak.sh --smoke
# The benchmark harness in smoke mode, so it cannot rot.
if [ -x scripts/bench.sh ]; then
  ./scripts/bench.sh --smoke
fi
