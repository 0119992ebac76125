#!/usr/bin/env bash
# The rvs demo: the seed's LVS labs, in network namespaces (scripts/lab.sh).
#
#   scripts/demo.sh [--no-build] [--id ID] [nat|dr|tun|fullnat|fwmark]     (default nat)
#
#   nat      the seed's NAT lab: client 172.25.254.200 -> VIP 172.25.254.100 -> webserver1/2
#   fullnat  the same, but the servers see a local address (LIP) of the director as the client
#   dr       the seed's DR lab: client -> router -> LAN, director 192.168.0.50 and the servers
#            share VIP 192.168.0.200; captures before and after the director show that only
#            the MAC addresses change (the seed's Wireshark step)
#   tun      the DR topology with requests IPIP-encapsulated to the servers (captured there)
#   fwmark   the seed's firewall-mark lab on the DR topology: 80 and 443 as one service,
#            then persistent, so one client's http and https reach the same server
#
# Every mode pings the director's addresses, curls the VIP (rr), shows rvsadm -Ln and
# -Ln --stats and rvsd's final counters, and checks what it shows (exit 1 when a check
# fails). Everything is torn down on exit, failure or Ctrl-C. --no-build skips setup.sh
# and cargo build (tests/tests/demo.rs runs the demo on the binaries already built).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=1 ID=demo MODE=nat
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) BUILD=0; shift;;
    --id) ID=$2; shift 2;;
    nat|dr|tun|fullnat|fwmark) MODE=$1; shift;;
    -h|--help) sed -n '2,18p' "$0"; exit 0;;
    *) echo "demo.sh: unknown argument '$1'" >&2; sed -n '4p' "$0" >&2; exit 2;;
  esac
done
if [ "$BUILD" = 1 ]; then
  ./scripts/setup.sh
  cargo build --release --bins
fi
STATE=/tmp/rvs-lab-$ID
ADM=target/release/rvsadm
export RVSADM_SOCKET=$STATE/rvsd.sock
VIP_NAT=172.25.254.100 VIP_DR=192.168.0.200

CAPS=() # tcpdump pids (ip netns exec execs tcpdump: the pid is tcpdump's)
stop_captures() {
  local p
  for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  CAPS=()
}
cleanup() {
  stop_captures
  ./scripts/lab.sh down --id "$ID" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab() { ./scripts/lab.sh exec --id "$ID" "$@"; }
# Bold headings on a terminal only (the test reads plain text).
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
fail() { echo "demo.sh: FAIL: $*" >&2; exit 1; }
up() { ./scripts/lab.sh up --id "$ID" --workers 1 "$@"; }
ping3() { lab "$1" ping -c 3 -i 0.2 -W 2 "$2"; }
get() { lab cli curl -sS --max-time 5 "$1"; }

capture() { # capture NAME NS DEV FILTER: tcpdump into $STATE/NAME.pcap until stop_captures
  local name=$1 ns=$2 dev=$3 filter=$4
  rm -f "$STATE/$name.pcap"
  ip netns exec "rvs$ID-$ns" tcpdump -i "$dev" -nn -U --immediate-mode -w "$STATE/$name.pcap" "$filter" > "$STATE/$name.log" 2>&1 &
  CAPS+=("$!")
  for _ in $(seq 1 50); do grep -q "listening on" "$STATE/$name.log" && return 0; sleep 0.1; done
  cat "$STATE/$name.log" >&2
  fail "tcpdump on $ns/$dev did not start"
}

curl_rr() { # curl_rr N URL: N requests; with one worker rr must alternate the two servers
  local n=$1 url=$2 body prev="" i
  say "curl $url $n times: rr sends the requests to webserver1, webserver2, webserver1, ..."
  for i in $(seq 1 "$n"); do
    body=$(get "$url")
    echo "curl $url -> $body"
    [ -n "$prev" ] && [ "${body%% *}" = "${prev%% *}" ] && fail "rr did not alternate: $prev then $body"
    prev=$body
  done
  return 0
}

adm() {
  say "rvsadm -Ln (ipvsadm's view of the table)"
  "$ADM" -Ln
  say "rvsadm -Ln --stats"
  "$ADM" -Ln --stats
}

finish() {
  stop_captures
  say "stop rvsd: its final counters"
  ./scripts/lab.sh down --id "$ID" >/dev/null
  sed -n '/rvsd: final counters/,$p' "$STATE/rvsd.log"
  echo "demo.sh: $MODE demo done"
}

dr_topology() {
  say "the seed's DR lab: client 172.25.254.200 -> router 172.25.254.100 | 192.168.0.100 -> LAN;"
  echo "   director 192.168.0.50, webserver1 192.168.0.10, webserver2 192.168.0.20;"
  echo "   VIP $VIP_DR on the director and on the servers' lo (arp_ignore=1, arp_announce=2)"
  say "ping the director (192.168.0.50) from the router and from webserver1"
  ping3 rtr 192.168.0.50
  ping3 rs1 192.168.0.50
}

mac_of() { lab "$1" cat "/sys/class/net/$2/address"; }

mode_nat() {
  up --mode nat
  say "ping the director's client-side address (the VIP) from the client namespace"
  ping3 cli $VIP_NAT
  say "ping the director's server-side address (DIP, the servers' gateway) from webserver1"
  ping3 rs1 192.168.0.100
  curl_rr 4 "http://$VIP_NAT/"
  say "NAT keeps the client's address: what the servers saw (GET /whoami)"
  local w
  for _ in 1 2; do
    w=$(get "http://$VIP_NAT/whoami"); echo "$w"
    [ "${w#* }" = 172.25.254.200 ] || fail "the server saw ${w#* }, not the client"
  done
  adm
  finish
}

mode_fullnat() {
  up --mode fullnat
  say "ping the VIP from the client and the director's server-side address from webserver1"
  ping3 cli $VIP_NAT
  ping3 rs1 192.168.0.100
  curl_rr 4 "http://$VIP_NAT/"
  say "FULLNAT: the servers see a local address of the director (LIP 192.168.0.101/.102) as the"
  echo "   client, not 172.25.254.200, so they need no route back to it (GET /whoami)"
  local w
  for _ in 1 2 3 4; do
    w=$(get "http://$VIP_NAT/whoami"); echo "$w"
    case ${w#* } in 192.168.0.101|192.168.0.102) ;; *) fail "the server saw ${w#* }, not a LIP";; esac
  done
  adm
  say "rvsadm -Lnc: the connections"
  "$ADM" -Lnc
  finish
}

mode_dr() {
  up --mode dr
  dr_topology
  # veth leaves TCP checksums to the receiver (tx offload): a capture on
  # the way would show an unfinished one. The client finishes them itself.
  lab cli ethtool -K "v${ID}c" tx off > /dev/null
  local req="tcp dst port 80 and dst host $VIP_DR"
  capture dr-before rtr eth1 "$req"
  capture dr-after rs1 eth0 "$req"
  curl_rr 6 "http://$VIP_DR/"
  stop_captures
  local m_rtr m_dir m_rs1
  m_rtr=$(mac_of rtr eth1)
  m_rs1=$(mac_of rs1 eth0)
  m_dir=$(lab rtr ip neigh show $VIP_DR | awk '{print $5}')
  say "who is who on the LAN: router eth1 $m_rtr, director $m_dir (the VIP's ARP answer), webserver1 $m_rs1"
  say "the same request frame (tcpdump -e -nn): where it reaches the director (router's LAN port),"
  echo "   then inside webserver1 after the director forwarded it"
  local after sport
  after=$(tcpdump -e -nn -r "$STATE/dr-after.pcap" -c 1 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null)
  [ -n "$after" ] || fail "no SYN captured at webserver1"
  sport=$(sed -n 's/.* 172\.25\.254\.200\.\([0-9]*\) > .*/\1/p' <<< "$after")
  echo -n "before: "; tcpdump -e -nn -r "$STATE/dr-before.pcap" -c 1 "tcp src port $sport and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null
  echo "after:  $after"
  say "every field of the frames captured on both sides (scripts/lab/dr_macs.py)"
  python3 scripts/lab/dr_macs.py "$STATE/dr-before.pcap" "$STATE/dr-after.pcap" \
    --name "$m_rtr=router" --name "$m_dir=director" --name "$m_rs1=webserver1" || fail "more than the MACs changed"
  adm
  finish
}

mode_tun() {
  up --mode tun
  dr_topology
  capture tun-rs1 rs1 eth0 "ip proto 4"
  curl_rr 4 "http://$VIP_DR/"
  stop_captures
  say "at webserver1 (tcpdump -nn -v): the request inside an outer IPIP header 192.168.0.50 > 192.168.0.10;"
  echo "   its userspace decapsulator (scripts/lab/ipip_decap.py on tundev.py: no ipip module here) hands it to the VIP on lo"
  local lines
  lines=$(tcpdump -nn -v -r "$STATE/tun-rs1.pcap" -c 2 2>/dev/null)
  echo "$lines"
  grep -q "proto IPIP (4).*192.168.0.50 > 192.168.0.10: IP" <<< "$(tr -d '\n' <<< "$lines")" \
    || fail "no IPIP packet from the director at webserver1"
  adm
  finish
}

mode_fwmark() {
  up --mode dr --services scripts/lab/demo-fwmark.yaml
  dr_topology
  say "the servers listen on 80 and 443; on 443 they speak plain HTTP (no TLS in this demo: the"
  echo "   scheduling is the point), so curl http://$VIP_DR:443/ stands for the seed's curl -k https://$VIP_DR"
  say "one service for both ports: FWM 66 with match tcp $VIP_DR ports 80,443 (scripts/lab/demo-fwmark.yaml)"
  "$ADM" -Ln
  say "the seed's step 4: curl http; curl https, three times: one rr across both ports"
  local a b prev="" i
  for i in 1 2 3; do
    for port in 80 443; do
      a=$(get "http://$VIP_DR:$port/")
      echo "rr: port $port -> $a"
      [ -n "$prev" ] && [ "${a%% *}" = "${prev%% *}" ] && fail "one rr over both ports should alternate: $prev then $a"
      prev=$a
    done
  done
  say "persistent (rvsadm -E -f 66 -s rr -p 300 --match tcp:$VIP_DR:80,443): the client keeps its server"
  "$ADM" -E -f 66 -s rr -p 300 --match "tcp:$VIP_DR:80,443"
  "$ADM" -Ln
  local first=""
  for i in 1 2 3; do
    for port in 80 443; do
      b=$(get "http://$VIP_DR:$port/")
      echo "persistent: port $port -> $b"
      [ -z "$first" ] && first=$b
      [ "$b" = "$first" ] || fail "persistence broken: $first, then $b on port $port"
    done
  done
  echo "fwmark: http and https of 172.25.254.200 both went to ${first%% *}"
  say "rvsadm -Lnc: the connections (those made after -p all went to one server)"
  "$ADM" -Lnc
  adm
  finish
}

"mode_$MODE"
