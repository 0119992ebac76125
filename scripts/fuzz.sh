#!/usr/bin/env bash
# Run the cargo-fuzz targets (libFuzzer, nightly), one at a time.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Targets: frames flows wire yaml control rvsadm (default: all). Each runs for
# the given time (default 300 s) on a working corpus (fuzz/work/<target>,
# not committed) seeded from the committed one (fuzz/corpus/<target>).
# Prints executions and crashes per target and exits non-zero when any
# target crashed; crashing inputs are in fuzz/artifacts/<target>/.
#
# Environment:
#   FUZZ_KEEP_GOING=1  keep fuzzing after a crash (libFuzzer -fork=1
#                      -ignore_crashes=1), counting every crash found
#   FUZZ_MINIMIZE=1    afterwards, merge the working corpus into the
#                      committed one, minimised (libFuzzer -merge=1)
#   FUZZ_JOBS=N        fork jobs with FUZZ_KEEP_GOING (default 1: this
#                      machine has 2 cores, shared)
#
# The committed corpus replays on stable in `cargo test` (rvs-dataplane
# testkit tests, rvs-ctrl fuzzing tests), so ./scripts/test.sh runs it.
set -euo pipefail

secs=${1:-300}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frames flows wire yaml control rvsadm)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# No sanitizer: no unsafe code outside ffi/, and none of it runs under
# these targets; panics (and invariant checks) are what we hunt.
cargo +nightly fuzz build -s none -O
bin="$root/fuzz/target/x86_64-unknown-linux-gnu/release"

max_len() {
    case $1 in
        frames | flows | wire) echo 4096 ;;
        *) echo 16384 ;;
    esac
}

declare -A execs crashes
status=0
for t in "${targets[@]}"; do
    [ -x "$bin/$t" ] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    log="work/$t.log"
    before=$(find "artifacts/$t" -name 'crash-*' | wc -l)
    opts=(-max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix="artifacts/$t/")
    if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
        opts+=(-fork="${FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    echo "== $t: ${secs}s"
    rc=0
    "$bin/$t" "${opts[@]}" "work/$t" "corpus/$t" >"$log" 2>&1 || rc=$?
    # Plain mode ends with "Done N runs"; fork mode's last "#N:" line has
    # the total.
    n=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    [ -z "$n" ] && n=$(sed -n 's/^#\([0-9]*\)[: ].*/\1/p' "$log" | tail -1)
    after=$(find "artifacts/$t" -name 'crash-*' | wc -l)
    c=$((after - before))
    [ $rc -ne 0 ] && [ $c -eq 0 ] && c=1
    execs[$t]=${n:-0}
    crashes[$t]=$c
    printf '%s %s execs=%s crashes=%s secs=%s\n' "$(date -u +%FT%TZ)" "$t" "${n:-0}" "$c" "$secs" >>work/history
    if [ $c -ne 0 ]; then
        status=1
        grep -m3 -E 'panicked at|invariant broken' "$log" | sed 's/^/   /' || true
    fi
    if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
        tmp=$(mktemp -d)
        "$bin/$t" -merge=1 -max_len="$(max_len "$t")" "$tmp" "corpus/$t" "work/$t" >"work/$t.merge.log" 2>&1
        rm -rf "corpus/$t" && mv "$tmp" "corpus/$t"
        echo "   corpus/$t: $(ls "corpus/$t" | wc -l) files, $(du -sh "corpus/$t" | cut -f1)"
    fi
done

echo
printf '%-8s %14s %8s\n' target executions crashes
for t in "${targets[@]}"; do
    printf '%-8s %14s %8s\n' "$t" "${execs[$t]}" "${crashes[$t]}"
done
exit $status
