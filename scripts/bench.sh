#!/usr/bin/env bash
# The rvs system benchmark: rvsd against dpdk-testpmd on the same DPDK
# virtual devices, in one run (see docs/benchmarks.md for the method).
#
#   ./scripts/bench.sh           full run (~15 min, plus a few for IPv6): writes docs/benchmarks.md
#                                and docs/plots/*.png
#   ./scripts/bench.sh --smoke   about a minute, tiny flow counts, report
#                                under target/bench-smoke/ (never docs/);
#                                exits non-zero if any part of the harness
#                                produced nothing (CI). Its IPv6 part is one
#                                mode (FULLNAT) at 1k flows.
#
# The one-way replay runs over IPv4 and then over IPv6 (1 worker, 1k and 1M
# flows, every mode, testpmd io on the IPv6 file as its baseline).
#
# Besides rvsd and testpmd on DPDK devices, it runs the sans-IO engine
# alone (dataplane/examples/replay.rs) under valgrind's callgrind for
# instructions per packet, and natively for cycles per packet.
#
# Extra arguments go to rvs-bench (e.g. --flows 1000,100000 --tcp --nice 0;
# IPv6: --flows6 1000 --modes6 dr,tun,nat,fullnat).
# Installs nothing itself (scripts/setup.sh does), needs root for DPDK.
# Every process it starts is recorded by PID and stopped on exit, error or
# interrupt; the whole run is bounded by a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

smoke=0
args=()
for a in "$@"; do
  case $a in
    --smoke) smoke=1; args+=("$a");;
    *) args+=("$a");;
  esac
done

./scripts/setup.sh
export CARGO_TERM_COLOR=never
target_dir=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --bins -p rvs-ctrl -p rvs-benches
cargo build --release -p rvs-dataplane --features testkit --example replay
bin=$target_dir/release
command -v valgrind >/dev/null || echo "bench.sh: valgrind is missing: no instructions per packet" >&2

# The commit measured, for the report (RVS_BENCH_COMMIT when the tree
# is an export without .git).
commit=${RVS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || true)}
if [ -z "${RVS_BENCH_COMMIT:-}" ] && [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi

work=$root/target/bench
[ $smoke = 1 ] && work=$root/target/bench-smoke
rm -rf "$work"
mkdir -p "$work"
pidfile=$work/pids
: > "$pidfile"

harness_pid=
# Stop what we started, by PID only: the harness first (it stops its own
# children), then any recorded child still alive whose command line is
# ours (a PID can be reused once its process is gone).
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$harness_pid" ] && kill -0 "$harness_pid" 2>/dev/null; then
    kill -TERM "$harness_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$harness_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$harness_pid" 2>/dev/null || true
  fi
  if [ -f "$pidfile" ]; then
    while read -r pid; do
      [ -n "$pid" ] && [ -e "/proc/$pid" ] || continue
      if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "rvsb\|$work\|examples/replay"; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done < "$pidfile"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

if [ $smoke = 1 ]; then
  limit=300
  out=(--work "$work")
else
  limit=2700
  mkdir -p docs/plots
  # The rewrite micro benchmarks (seconds), quoted in the report.
  timeout 300 cargo bench -p rvs-benches --bench modes > "$work/modes.txt" 2>&1 \
    || echo "bench.sh: modes micro benchmark failed (see $work/modes.txt)" >&2
  out=(--work "$work" --doc "$root/docs/benchmarks.md" --plots "$root/docs/plots" --micro "$work/modes.txt")
fi

# The harness in the background so the trap can act while it runs;
# `timeout` bounds it even if it hangs.
timeout --signal=TERM --kill-after=30 "$limit" \
  "$bin/rvs-bench" --rvsd "$bin/rvsd" --gen "$bin/rvs-gen" --replay "$bin/examples/replay" --commit "$commit" --pidfile "$pidfile" \
  "${out[@]}" "${args[@]}" &
harness_pid=$!
set +e
wait "$harness_pid"
rc=$?
set -e
harness_pid=
if [ $rc -ne 0 ]; then
  echo "bench.sh: rvs-bench failed (exit $rc); logs in $work" >&2
  exit $rc
fi
if [ $smoke = 1 ]; then
  echo "bench.sh: smoke run passed (report: $work/benchmarks.md)"
  # The working files of a smoke run are not worth keeping.
  find "$work" -name '*.pcap' -delete
else
  echo "bench.sh: wrote docs/benchmarks.md and docs/plots/"
fi
