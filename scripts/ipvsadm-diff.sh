#!/usr/bin/env bash
# Differential test of rvsadm against ipvsadm 1.31 (issue 17).
#
#   scripts/ipvsadm-diff.sh [--sequences N] [--lines L] [--seed S]
#                           [--min-match PCT] [--report FILE] [--top K]
#
# ipvsadm 1.31 is built from Debian's original tarball (downloaded and
# checked at test time, never committed) against a userspace stand-in for
# libnl whose "kernel" keeps the IPVS table in memory
# (tests/ipvsadm-ref).  rvsadm talks to an rvsd running on net_null
# devices.  Both run generated command sequences inside a network
# namespace with no route out; after every line stdout, stderr, exit
# status and -S -n are compared.  Prints a summary and the top difference
# categories; exits non-zero on a harness failure, or when --min-match is
# given and fewer lines than PCT% match fully.  Needs root (netns).
# Binaries: $RVS_BIN_DIR, else target/release (as the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
seqs=20 lines=30 seed=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sequences) seqs="$2"; shift 2 ;;
    --lines) lines="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --min-match|--report|--top) extra+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "ipvsadm-diff.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "ipvsadm-diff.sh: needs root (network namespace)" >&2; exit 2; }
bindir="${RVS_BIN_DIR:-$root/target/release}"
for b in rvsd rvsadm; do
  [ -x "$bindir/$b" ] || { echo "ipvsadm-diff.sh: $bindir/$b not built (cargo build --release)" >&2; exit 2; }
done
ipvsadm="$(tests/ipvsadm-ref/build.sh "$root/target/ipvsadm-ref" | tail -1)"

ns="rvsdiff$$"
work="$(mktemp -d /tmp/rvs-ipvsadm-diff.XXXXXX)"
rvsd_pid=""
cleanup() {
  if [ -n "$rvsd_pid" ] && kill -0 "$rvsd_pid" 2>/dev/null; then
    kill -TERM "$rvsd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$rvsd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$rvsd_pid" 2>/dev/null || true
  fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The namespace has only a loopback device, left down: no route anywhere,
# so name lookups fail at once instead of leaving the machine.
ip netns add "$ns"
local_addrs="172.25.254.100/24,192.168.0.100/24"
cat > "$work/rvsd.yaml" <<YAML
dpdk: { memory_mb: 256, mbufs: 8191, file_prefix: $ns }
workers: { count: 1 }
conn: { table_size: 4096 }
control: { socket: $work/rvsd.sock }
interfaces:
  - { name: client, device: 'net_null0,no-rx=1', addresses: [172.25.254.100/24] }
  - { name: server, device: 'net_null1,no-rx=1', addresses: [192.168.0.100/24] }
YAML
ip netns exec "$ns" "$bindir/rvsd" --config "$work/rvsd.yaml" > "$work/rvsd.log" 2>&1 &
rvsd_pid=$!
for _ in $(seq 300); do
  grep -q "rvsd: ready" "$work/rvsd.log" 2>/dev/null && break
  kill -0 "$rvsd_pid" 2>/dev/null || { echo "ipvsadm-diff.sh: rvsd exited:" >&2; cat "$work/rvsd.log" >&2; exit 2; }
  sleep 0.1
done
grep -q "rvsd: ready" "$work/rvsd.log" || { echo "ipvsadm-diff.sh: rvsd not ready:" >&2; cat "$work/rvsd.log" >&2; exit 2; }

set +e
ip netns exec "$ns" python3 tests/ipvsadm-ref/diff.py --ipvsadm "$ipvsadm" --rvsadm "$bindir/rvsadm" \
  --socket "$work/rvsd.sock" --state "$work/ipvs.state" --local "$local_addrs" \
  --sequences "$seqs" --lines "$lines" --seed "$seed" "${extra[@]}"
rc=$?
set -e
if ! kill -0 "$rvsd_pid" 2>/dev/null; then
  echo "ipvsadm-diff.sh: rvsd died during the run:" >&2; tail -20 "$work/rvsd.log" >&2; exit 2
fi
exit "$rc"
