#!/usr/bin/env bash
# The soak: hostile input on both sides while real traffic must keep flowing.
#
#   scripts/soak.sh [--seconds N] [--workers "1 2"] [--pps R] [--smoke]
#
# For each worker count (a "configuration"), in the lab's `mixed` topology
# (scripts/lab.sh: NAT, FULLNAT, DR and TUN services at once, all traffic in
# namespaces), for N seconds (default 600):
#   * a curl loop from the client through all four services, every request
#     checked (status and body) — none may fail;
#   * scripts/lab/inject.py (scapy, an independent packet library) sending
#     malformed, crafted and fuzzed frames at R frames/s (default 300) from
#     the client namespace and from a real server's namespace;
#   * rvsd checked alive every second, `rvsadm --workers` and `-Lnc` asked
#     while it runs.
# Then, once traffic has settled, scripts/lab/soak_check.py asserts from the
# strict counters: rvsd alive throughout, no curl failure, mempool back at
# baseline, rx = tx + named drops - generated + ARP consumed (every frame
# accounted for). --smoke: 25 s per configuration (about 60 s in all).
# Exit status 0 only if every configuration passed; reports land in
# /tmp/rvs-soak/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SECONDS_PER=600; WORKERS="1 2"; PPS=300
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER=$2; shift 2;;
    --workers) WORKERS=$2; shift 2;;
    --pps) PPS=$2; shift 2;;
    --smoke) SECONDS_PER=25; shift;;
    *) sed -n '2,22p' "$0"; exit 2;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "soak.sh: must run as root (network namespaces)" >&2; exit 1; }
/usr/bin/python3 -c "import scapy" 2>/dev/null || { echo "soak.sh: python3-scapy missing (scripts/setup.sh)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "soak.sh: tcpdump missing (scripts/setup.sh)" >&2; exit 1; }
RVSADM=${RVSADM:-$root/target/release/rvsadm}
[ -x "$RVSADM" ] || { echo "soak.sh: $RVSADM not built" >&2; exit 1; }
OUT=${SOAK_OUT:-/tmp/rvs-soak}
mkdir -p "$OUT"

LAB_IDS=()
BG=()  # background processes this script started
cleanup() {
  for pid in "${BG[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BG[@]}"; do wait "$pid" 2>/dev/null || true; done
  for id in "${LAB_IDS[@]}"; do "$here/lab.sh" down --id "$id" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

URLS=(http://172.25.254.100:80/ http://172.25.254.100:443/ http://192.168.0.200:80/ http://192.168.0.200:443/)

# curl_loop NS DIR: until DIR/stop exists, each URL in turn; every
# failure (curl error or a body that is not a lab server's) is logged.
curl_loop() {
  local ns=$1 dir=$2 n=0 fails=0 body
  : > "$dir/curl-failures.log"
  while [ ! -e "$dir/stop" ]; do
    for u in "${URLS[@]}"; do
      n=$((n + 1))
      if ! body=$(ip netns exec "$ns" curl -sS --fail --max-time 5 "$u" 2>&1) || [[ $body != webserver* ]]; then
        fails=$((fails + 1))
        echo "$(date +%T.%N) $u: $body" >> "$dir/curl-failures.log"
      fi
    done
  done
  echo "{\"requests\": $n, \"failures\": $fails}" > "$dir/curl.json"
}

# The well-formed non-request ARP frames towards rvsd on IFACE (rvsd learns
# from them and sends nothing back): the "consumed" of the accounting.
ARP_FILTER='arp and len >= 42 and arp[0:2] = 1 and arp[2:2] = 0x0800 and arp[4] = 6 and arp[5] = 4 and arp[6:2] != 1'

json_field() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

# settle SOCKET FILE: poll until no frame is in flight (mempool at
# baseline) and rx has not moved for 200 ms; FILE gets the counters.
settle() {
  local prev="" cur
  for _ in $(seq 1 75); do
    "$RVSADM" --socket "$1" --workers --json > "$2" || return 1
    cur=$(/usr/bin/python3 -c "import json,sys; v=json.load(open(sys.argv[1])); m=v['mempool']; print(sum(w['rx_pkts'] for w in v['workers']), m['free']==m['baseline'])" "$2")
    if [ "$cur" = "$prev" ] && [[ $cur == *True ]]; then return 0; fi
    prev=$cur; sleep 0.2
  done
  return 1
}

run_config() { # run_config WORKERS
  local w=$1 id="k$1" dir="$OUT/w$1"
  rm -rf "$dir"; mkdir -p "$dir"
  LAB_IDS+=("$id")
  echo "soak: $w worker(s), ${SECONDS_PER} s, ${PPS} frames/s per side"
  # Without the exception path: the frame accounting below (rx = tx +
  # drops - generated) is the data path's own; what the kernel interfaces
  # take and send is tested by tests/tests/exception.rs.
  "$here/lab.sh" up --id "$id" --mode mixed --workers "$w" --no-kernel > "$dir/lab-up.log" 2>&1 || { cat "$dir/lab-up.log" >&2; return 1; }
  local P="rvs$id" sock="/tmp/rvs-lab-$id/rvsd.sock" pid
  pid=$(cat "/tmp/rvs-lab-$id/rvsd.pid")
  ip netns exec "$P-cli" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
  # No IPv6 chatter from the peers' kernels (MLD reports, router
  # solicitations at random times): it would arrive after the settled
  # counters and unbalance the accounting. The injectors still send IPv6
  # frames of their own (packet sockets are not affected).
  for ns in "$P-cli" "$P-lan" "$P-rs1" "$P-rs2" "$P-rtr"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  # One request per service first: every path works before the storm, and
  # the peers learn rvsd's MACs.
  for u in "${URLS[@]}"; do ip netns exec "$P-cli" curl -sS --fail --max-time 5 "$u" > /dev/null; done
  # rr may have sent every NAT request to rs2: rs1 resolves the DIP itself.
  ip netns exec "$P-rs1" ping -c 1 -W 2 192.168.0.100 > /dev/null || true
  local cmac smac
  cmac=$(ip netns exec "$P-cli" ip neigh show 172.25.254.100 | awk '{print $5}')
  smac=$(ip netns exec "$P-rs1" ip neigh show 192.168.0.100 | awk '{print $5}')
  [ -n "$cmac" ] && [ -n "$smac" ] || { echo "soak: rvsd MACs not learnt" >&2; return 1; }

  ip netns exec "$P-cli" tcpdump -Q out -i "t${id}c" -U -w "$dir/arp-c.pcap" "$ARP_FILTER and (ether dst $cmac or ether broadcast)" 2> "$dir/tcpdump-c.log" &
  BG+=($!); local td1=$!
  ip netns exec "$P-lan" tcpdump -Q out -i "t${id}s" -U -w "$dir/arp-s.pcap" "$ARP_FILTER and (ether dst $smac or ether broadcast)" 2> "$dir/tcpdump-s.log" &
  BG+=($!); local td2=$!
  for f in c s; do
    for _ in $(seq 1 50); do grep -q "listening on" "$dir/tcpdump-$f.log" && break; sleep 0.1; done
    grep -q "listening on" "$dir/tcpdump-$f.log" || { echo "soak: tcpdump did not start" >&2; return 1; }
  done

  # The accounting covers [start, end]: both points settled, the ARP
  # captures running across the whole window.
  settle "$sock" "$dir/live-start.json" || { echo "soak: counters did not settle before the start" >&2; return 1; }
  curl_loop "$P-cli" "$dir" &
  BG+=($!); local cl=$!
  ip netns exec "$P-cli" /usr/bin/python3 "$here/lab/inject.py" --side client --iface "t${id}c" --dst-mac "$cmac" \
    --seconds "$SECONDS_PER" --pps "$PPS" --seed "$((w * 100 + 1))" --out "$dir/inject-client.json" > "$dir/inject-client.log" 2>&1 &
  BG+=($!); local ic=$!
  ip netns exec "$P-rs1" /usr/bin/python3 "$here/lab/inject.py" --side server --iface eth0 --dst-mac "$smac" \
    --seconds "$SECONDS_PER" --pps "$PPS" --seed "$((w * 100 + 2))" --out "$dir/inject-server.json" > "$dir/inject-server.log" 2>&1 &
  BG+=($!); local is=$!

  local alive=yes t=0
  while kill -0 "$ic" 2>/dev/null || kill -0 "$is" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then alive=no; echo "soak: rvsd died after ${t} s" >&2; break; fi
    if [ $((t % 30)) -eq 15 ]; then
      "$RVSADM" --socket "$sock" --workers > "$dir/workers-$t.txt" 2>&1 || { alive=no; echo "soak: rvsadm --workers failed" >&2; break; }
      "$RVSADM" --socket "$sock" -Lnc > /dev/null 2>> "$dir/rvsadm-errors.log" || { alive=no; echo "soak: rvsadm -Lnc failed" >&2; break; }
    fi
    sleep 1; t=$((t + 1))
  done
  wait "$ic" || true; wait "$is" || true
  touch "$dir/stop"; wait "$cl" || true
  kill -0 "$pid" 2>/dev/null || alive=no

  local ok=no
  if [ "$alive" = yes ] && settle "$sock" "$dir/live.json"; then ok=yes; else echo "soak: counters did not settle" >&2; fi
  kill -TERM "$td1" "$td2" 2>/dev/null || true; wait "$td1" 2>/dev/null || true; wait "$td2" 2>/dev/null || true
  local arp
  arp=$(/usr/bin/python3 -c "import sys; from scapy.utils import PcapReader; print(sum(sum(1 for _ in PcapReader(f)) for f in sys.argv[1:]))" "$dir/arp-c.pcap" "$dir/arp-s.pcap" 2>/dev/null)
  "$here/lab.sh" down --id "$id" > "$dir/lab-down.log" 2>&1
  cp "/tmp/rvs-lab-$id/rvsd.log" "$dir/rvsd.log"
  [ -s "$dir/curl.json" ] || echo '{"requests": 0, "failures": -1}' > "$dir/curl.json"
  [ -s "$dir/live.json" ] || echo '{}' > "$dir/live.json"
  for s in client server; do [ -s "$dir/inject-$s.json" ] || echo "{\"side\": \"$s\", \"frames\": 0, \"seconds\": 0, \"by_kind\": {}}" > "$dir/inject-$s.json"; done
  if /usr/bin/python3 "$here/lab/soak_check.py" --start "$dir/live-start.json" --live "$dir/live.json" --log "$dir/rvsd.log" \
      --inject "$dir/inject-client.json" "$dir/inject-server.json" --curl "$dir/curl.json" --arp "$arp" \
      --workers "$w" --alive "$alive" > "$dir/report.json"; then
    echo "soak: $w worker(s) OK: $(json_field "$dir/report.json" "['summary']"); report $dir/report.json"
    BG=()
    [ "$ok" = yes ]
  else
    echo "soak: $w worker(s) FAILED; report $dir/report.json:" >&2
    cat "$dir/report.json" >&2
    [ -s "$dir/curl-failures.log" ] && head -5 "$dir/curl-failures.log" >&2
    grep -A12 panicked "$dir/rvsd.log" >&2 || true
    return 1
  fi
}

status=0
for w in $WORKERS; do run_config "$w" || status=1; done
exit $status
