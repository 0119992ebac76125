#!/usr/bin/env bash
# docs/plots/failover.png from a real run: an operator-driven failover in
# the NAT lab, as a Prometheus server scraping rvsd saw it.
#
#   scripts/plot-failover.sh [--id ID]     (root; needs target/release/rvsd, rvsadm)
#   KEEP=1 scripts/plot-failover.sh        (keep the temporary directory: TSDB, client log)
#
# The lab (scripts/lab.sh, mode nat, 1 worker) with rvsd's metrics endpoint
# on; Debian's prometheus scrapes it every second from inside the director
# namespace, storing into a temporary directory. The client namespace sends
# ~30 new HTTP connections a second to the VIP for ~70 s; at ~20 s
# webserver1 is quiesced (`rvsadm -e ... -w 0`, what an operator or health
# checker does before maintenance), at ~45 s given weight 1 again. Then the
# per-dest new-connection rate is read back through Prometheus's HTTP API
# (query_range), written to docs/plots/failover.dat and drawn with gnuplot.
# Client responses are logged too: they tell, without Prometheus, when
# webserver1 stopped and started answering.
# Everything made (lab namespaces, prometheus, the load loop) goes on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ID=pl
[ "${1:-}" = --id ] && ID=$2
VIP=172.25.254.100 RS1=192.168.0.10 RS2=192.168.0.20
PROM=127.0.0.1:9090 METRICS=127.0.0.1:9410
LOAD_S=70 DOWN_AT=20 UP_AT=45 WINDOW=5s
RVSADM=${RVSADM:-$root/target/release/rvsadm}
export RVSADM_SOCKET=/tmp/rvs-lab-$ID/rvsd.sock
OUT=$root/docs/plots

[ "$(id -u)" -eq 0 ] || { echo "plot-failover.sh: must run as root (network namespaces)" >&2; exit 1; }
for b in prometheus gnuplot curl python3; do
  command -v "$b" >/dev/null || { echo "plot-failover.sh: $b missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -x "$RVSADM" ] || { echo "plot-failover.sh: $RVSADM not built" >&2; exit 1; }

work=$(mktemp -d /tmp/rvs-plot-failover.XXXXXX)
prom_pid="" load_pid=""
cleanup() {
  for pid in $load_pid $prom_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  "$here/lab.sh" down --id "$ID" >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "plot-failover.sh: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$work/extra.yaml" <<EOF
services:
  - { vip: $VIP, port: 80, scheduler: rr, dests: [ { addr: $RS1, fwd: nat }, { addr: $RS2, fwd: nat } ] }
metrics: { listen: $METRICS }
EOF
"$here/lab.sh" up --id "$ID" --mode nat --workers 1 --services "$work/extra.yaml"
dirx() { ip netns exec "rvs$ID-dir" "$@"; }

cat > "$work/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: rvsd
    static_configs: [ { targets: ['$METRICS'] } ]
EOF
# `ip netns exec` execs prometheus: $! is prometheus itself.
dirx prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="$PROM" > /dev/null 2> "$work/prometheus.log" &
prom_pid=$!
for _ in $(seq 1 150); do dirx curl -sf "http://$PROM/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
dirx curl -sf "http://$PROM/-/ready" >/dev/null || { cat "$work/prometheus.log" >&2; exit 1; }
# Idle scrapes before the load starts: the plot begins at zero.
sleep 8

now() { date +%s.%N; }
t0=$(now)
# Bounded load: at most 700 rounds, none started after LOAD_S; each round
# three new connections (separate curls, no keep-alive between them), each
# logged as "<epoch it started> <who answered>" (empty: no answer in 2 s).
ip netns exec "rvs$ID-cli" bash -c '
  end=$(( $(date +%s) + '"$LOAD_S"' ))
  for _ in $(seq 1 700); do
    [ "$(date +%s)" -lt "$end" ] || break
    for _ in 1 2 3; do
      ( s=$(date +%s.%N); r=$(curl -s --max-time 2 http://'"$VIP"'/ | cut -d" " -f1); echo "$s $r" ) &
    done
    sleep 0.1
    wait
  done' > "$work/client.log" &
load_pid=$!

at() { sleep "$(python3 -c "import time; print(max(0, $t0 + $1 - time.time()))")"; }
# t_down/t_up: when rvsadm returned (rvsd answers once every worker runs
# the new table).
at "$DOWN_AT"
c=$(now); "$RVSADM" -e -t "$VIP:80" -r "$RS1" -m -w 0; t_down=$(now)
echo "plot-failover.sh: weight 0 took $(python3 -c "print(f'{($t_down - $c) * 1000:.0f}')") ms"
at "$UP_AT"
c=$(now); "$RVSADM" -e -t "$VIP:80" -r "$RS1" -m -w 1; t_up=$(now)
echo "plot-failover.sh: weight 1 took $(python3 -c "print(f'{($t_up - $c) * 1000:.0f}')") ms"
wait "$load_pid"; load_pid=""
t_end=$(now)
sleep 3 # the last scrapes
"$RVSADM" -Ln --stats --exact > "$work/stats.txt"

q() { # q EXPR: query_range over the run, 1 s steps, JSON on stdout
  dirx curl -sS --max-time 10 "http://$PROM/api/v1/query_range" --data-urlencode "query=$1" \
    --data-urlencode "start=$(python3 -c "print($t0 - 4)")" --data-urlencode "end=$(python3 -c "print($t_end + 3)")" \
    --data-urlencode step=1s
}
q "rate(rvs_dest_connections_total{local_port=\"80\"}[$WINDOW])" > "$work/rate.json"
q "rvs_dest_connections_total{local_port=\"80\"}" > "$work/total.json"

# The data file (seconds since the load began; rate per dest), the
# measured numbers (printed, and in the plot's title), then the plot.
python3 - "$work" "$t0" "$t_down" "$t_up" "$RS1" "$RS2" "$OUT/failover.dat" "$WINDOW" <<'EOF'
import json, sys
work, t0, t_down, t_up, rs1, rs2, dat, window = sys.argv[1:]
t0, t_down, t_up = float(t0), float(t_down), float(t_up)
def series(name):
    v = json.load(open(f"{work}/{name}.json"))
    assert v["status"] == "success", v
    out = {}
    for r in v["data"]["result"]:
        out[r["metric"]["remote_address"]] = {float(t): float(x) for t, x in r["values"]}
    assert set(out) == {rs1, rs2}, out.keys()
    return out
rate, total = series("rate"), series("total")
ts = sorted(set(rate[rs1]) | set(rate[rs2]))
with open(dat, "w") as f:
    f.write(f"# scripts/plot-failover.sh: rate(rvs_dest_connections_total[{window}]) per dest, new connections/s\n")
    f.write(f"# weight 0 at {t_down - t0:.1f} s, weight 1 at {t_up - t0:.1f} s\n# t_s webserver1 webserver2\n")
    for t in ts:
        f.write(f"{round(t - t0):d} {rate[rs1].get(t, float('nan')):.2f} {rate[rs2].get(t, float('nan')):.2f}\n")
# From the counters (1 s steps): webserver1's over the quiesce, and the
# first step after the restore that shows it growing.
c1 = sorted(total[rs1].items())
at_down = [x for t, x in c1 if t >= t_down + 1][0]
before_up = [x for t, x in c1 if t < t_up][-1]
at_up = [x for t, x in c1 if t <= t_up][-1]
first_after_up = min(t for t, x in c1 if t > t_up and x > at_up)
# From the rate curve: first step at 0 after the quiesce, first above 0 after the restore.
r1 = sorted(rate[rs1].items())
zero_at = min(t for t, x in r1 if t > t_down and x == 0)
back_at = min(t for t, x in r1 if t > t_up and x > 0)
# From the client's log: who answered, when.
ans = [l.split() for l in open(f"{work}/client.log")]
who = lambda a, b, n: sum(1 for w in ans if len(w) == 2 and a <= float(w[0]) < b and w[1] == n)
failed = sum(1 for w in ans if len(w) < 2)
ws1_last = max(float(w[0]) for w in ans if len(w) == 2 and w[1] == "webserver1" and float(w[0]) < t_up)
ws1_back = min(float(w[0]) for w in ans if len(w) == 2 and w[1] == "webserver1" and float(w[0]) > t_up)
steady = [x for t, x in r1 if t0 + 6 < t < t_down]
ws2 = sorted(rate[rs2].items())
peak2 = max(x for t, x in ws2 if t_down + 6 < t < t_up)
print(f"requests {len(ans)}, unanswered {failed}")
print(f"before quiesce: webserver1 {who(0, t_down, 'webserver1')}, webserver2 {who(0, t_down, 'webserver2')} answers; "
      f"webserver1 rate {min(steady):.1f}-{max(steady):.1f}/s")
print(f"quiesced (weight 0) at {t_down - t0:.2f} s: webserver1 answered {who(t_down, t_up, 'webserver1')} of the "
      f"{who(t_down, t_up, 'webserver2')} requests started after it (last start {ws1_last - t_down:+.2f} s); its counter {at_down:.0f} 1 s after it, {before_up:.0f} just before the restore; "
      f"rate[{window}] reached 0 {zero_at - t_down:.1f} s after; webserver2 then {peak2:.1f}/s")
print(f"restored (weight 1) at {t_up - t0:.2f} s: webserver1 answered a request started {ws1_back - t_up:+.2f} s after, "
      f"counter above {at_up:.0f} {first_after_up - t_up:.1f} s after, rate>0 {back_at - t_up:.1f} s after")
print(f"after restore: webserver1 {who(t_up, 1e12, 'webserver1')}, webserver2 {who(t_up, 1e12, 'webserver2')} answers")
open(f"{work}/marks", "w").write(f"{t_down - t0:.2f} {t_up - t0:.2f}\n")
EOF
read -r x_down x_up < "$work/marks"
cat "$work/stats.txt"
gnuplot <<EOF
set terminal pngcairo size 900,420 font 'sans,10' noenhanced
set output '$OUT/failover.png'
set title "Operator failover in the NAT lab: new connections per second to each real server\n(Prometheus scraping rvsd every 1 s: rate(rvs_dest_connections_total[$WINDOW]); client: ~30 new HTTP connections/s, rr)"
set xlabel 'seconds since the load started'
set ylabel 'new connections / s'
set grid ytics
set key outside bottom center horizontal
set yrange [0:*]
set offsets 0, 0, graph 0.2, 0
set xrange [-3:$LOAD_S + 3]
set arrow from $x_down, graph 0 to $x_down, graph 1 nohead dt 2 lw 1.5 lc rgb '#555555'
set arrow from $x_up, graph 0 to $x_up, graph 1 nohead dt 2 lw 1.5 lc rgb '#555555'
set label "webserver1 quiesced\nrvsadm -e ... -r $RS1 -w 0" at $x_down + 0.5, graph 0.95 left
set label "webserver1 back\nrvsadm -e ... -r $RS1 -w 1" at $x_up + 0.5, graph 0.95 left
plot '$OUT/failover.dat' using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'webserver1 (192.168.0.10)', \
     '' using 1:3 with lines lw 2 lc rgb '#ff7f0e' title 'webserver2 (192.168.0.20)'
EOF
ls -l "$OUT/failover.png" "$OUT/failover.dat"
