#!/usr/bin/env bash
# rvs scale-out lab (issue 16): several directors behind an ECMP router
# that learns the VIP from each of them over eBGP (BIRD 2).
#
#   scripts/lab-ecmp.sh up     [--id ID] [--directors N] [--mode dr|tun] [--workers N] [--bfd on|off] [--sloppy on|off]
#                              [--sched SCHED] [--sync off|on|peers]
#   scripts/lab-ecmp.sh down   [--id ID]
#   scripts/lab-ecmp.sh status [--id ID]
#   scripts/lab-ecmp.sh exec   [--id ID] NS-SUFFIX CMD...   (e.g. exec rtr ip route show 192.168.0.200)
#
# Topology (every address lives only in namespaces this script makes):
#   cli 10.0.1.2/24 -- veth -- rtr 10.0.1.1 | 192.168.0.1/24 -- lan bridge
#   lan bridge -- rs1 192.168.0.10, rs2 192.168.0.20 (VIP 192.168.0.200 on lo,
#                 arp_ignore=1/arp_announce=2, default via 192.168.0.1;
#                 tun: the userspace IPIP decapsulator of scripts/lab/ipip_decap.py)
#   lan bridge ==tap== d1..dN: rvsd, DIP 192.168.0.5<i>, exception path on
#                 (kernel interface "lan" in the director namespace), and a
#                 BIRD of its own (AS 65001) peering with rtr's BIRD (AS 65000).
# rtr's BIRD exports the merged multipath route of the VIP into rtr's kernel
# (fib_multipath_hash_policy=1: flows spread by their L4 hash). A director's
# BIRD exports only the routes of protocol rvs_vips4, which rvsd writes into
# the include file (announce.bird_include) while it can serve the VIP, and
# installs nothing into its own kernel. Its BGP session rides rvsd's exception
# path, so it dies with rvsd: --bfd on (default) detects that in ~0.5 s, off
# leaves it to the 3 s hold timer. --sloppy off (sloppy_tcp) shows what
# breaks without it: every flow that moves to another director. --sched
# (default mh, with mh-port) picks the scheduler; one that is not consistent
# across directors (wlc) needs --sync on: every director runs IPVS's sync
# daemon as master and backup (`sync: { state: both }`, multicast 224.0.0.81
# over the lab bridge), so each has the others' connections; --sync peers
# sends unicast to the other DIPs instead of the group.
#
# State (configs, logs, sockets, pids): /tmp/rvs-ecmp-<ID>. Namespaces: rvs<ID>-*.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

cmd=${1:-}; shift || true
ID=e0; NDIR=3; MODE=dr; WORKERS=1; BFD=on; SLOPPY=true; SCHED=mh; SYNC=off
while [ $# -gt 0 ]; do
  case "$1" in
    --id) ID=$2; shift 2;;
    --directors) NDIR=$2; shift 2;;
    --mode) MODE=$2; shift 2;;
    --workers) WORKERS=$2; shift 2;;
    --bfd) BFD=$2; shift 2;;
    --sloppy) case $2 in on) SLOPPY=true;; off) SLOPPY=false;; *) echo "lab-ecmp.sh: --sloppy on|off" >&2; exit 2;; esac; shift 2;;
    --sched) SCHED=$2; shift 2;;
    --sync) case $2 in on|off|peers) SYNC=$2;; *) echo "lab-ecmp.sh: --sync off|on|peers" >&2; exit 2;; esac; shift 2;;
    *) break;;
  esac
done

[[ "$ID" =~ ^[a-z0-9]{1,6}$ ]] || { echo "lab-ecmp.sh: --id: 1 to 6 lower-case letters or digits" >&2; exit 2; }
P="rvs${ID}"
STATE="/tmp/rvs-ecmp-${ID}"
RVSD=${RVSD:-$root/target/release/rvsd}
NS_CLI=$P-cli NS_RTR=$P-rtr NS_LAN=$P-lan NS_RS1=$P-rs1 NS_RS2=$P-rs2
VIP=192.168.0.200
RTR_AS=65000 DIR_AS=65001

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

wait_for() { # wait_for SECONDS CMD...
  local t=$1; shift
  for _ in $(seq 1 $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# A MAC per lab and director for the kernel side of each moved tap (net_tap
# gives it the port's own MAC; a bridge would take frames to the port as its own).
kmac() { printf '02:72:65:%02x:%02x:%02x\n' "$(( $(cksum <<< "$ID" | cut -d' ' -f1) & 255 ))" "$1" 2; }

mkns() { ip netns add "$1"; echo "$1" >> "$STATE/netns"; nsx "$1" ip link set lo up; }

spawn() { # spawn LOG NS CMD...: a background process of this lab, its PID recorded
  local log=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" > "$log" 2>&1 &
  echo $! >> "$STATE/pids"
  LAST_PID=$!
}

dir_ns() { echo "$P-d$1"; }
dip() { echo "192.168.0.5$1"; }

write_rvsd_config() { # write_rvsd_config I
  local i=$1 d=$STATE/d$1 fwd=$MODE
  {
    echo "dpdk: { memory_mb: 128, mbufs: 4095, file_prefix: ${P}d${i} }"
    echo "workers: { count: ${WORKERS} }"
    echo "control: { socket: ${d}/rvsd.sock }"
    echo "interfaces:"
    echo "  - { name: lan, device: 'net_tap0,iface=t${ID}d${i}', addresses: [$(dip "$i")/24], kernel: {} }"
    echo "routes:"
    echo "  - { prefix: 0.0.0.0/0, via: 192.168.0.1, dev: lan }"
    if [ "$ANNOUNCE" = rvsd ]; then
      echo "announce: { bird_socket: ${d}/bird.ctl, bird_include: ${d}/vips.conf }"
      echo "conn: { sloppy_tcp: ${SLOPPY} }"
    fi
    case $SYNC in
      on) echo "sync: { state: both, interface: lan, syncid: 1 }";;
      peers)
        local j peers=()
        for j in $(seq 1 "$NDIR"); do [ "$j" = "$i" ] || peers+=("$(dip "$j")"); done
        echo "sync: { state: both, interface: lan, syncid: 1, peers: [$(IFS=,; echo "${peers[*]}")] }";;
    esac
    local flags=""
    [ "$SCHED" = mh ] && flags=", sched_flags: mh-port"
    echo "services:"
    echo "  - { vip: ${VIP}, port: 80, scheduler: ${SCHED}${flags}, dests: [ { addr: 192.168.0.10, fwd: ${fwd} }, { addr: 192.168.0.20, fwd: ${fwd} } ] }"
  } > "$d/rvsd.yaml"
}

write_include() { # write_include I [VIP...]: what rvsd writes (announce.bird_include)
  local f=$STATE/d$1/vips.conf; shift
  {
    printf 'protocol static rvs_vips4 { ipv4;'
    for v in "$@"; do printf ' route %s/32 blackhole;' "$v"; done
    printf ' }\nprotocol static rvs_vips6 { ipv6; }\n'
  } > "$f.tmp"
  mv "$f.tmp" "$f"
}

bfd_conf() { # the BFD protocol of either side (or nothing with --bfd off)
  [ "$BFD" = on ] || return 0
  cat <<EOF
protocol bfd {
  interface "$1" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 300 ms; multiplier 5; };
}
EOF
}

bgp_timers() {
  echo "  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 4;"
  [ "$BFD" = on ] && echo "  bfd on;"
  return 0
}

write_dir_bird() { # write_dir_bird I: no kernel protocol, so nothing reaches this kernel
  local i=$1 d=$STATE/d$1
  cat > "$d/bird.conf" <<EOF
# Director $i of lab $ID (scripts/lab-ecmp.sh).
log "$d/bird.log" all;
debug protocols { states };
router id $(dip "$i");
protocol device { scan time 1; }
include "$d/vips.conf";
$(bfd_conf lan)
protocol bgp rtr {
  local $(dip "$i") as $DIR_AS;
  neighbor 192.168.0.1 as $RTR_AS;
$(bgp_timers)
  ipv4 { import none; export where proto = "rvs_vips4"; };
}
EOF
}

write_rtr_bird() {
  local i
  {
    cat <<EOF
# The ECMP router of lab $ID (scripts/lab-ecmp.sh).
log "$STATE/rtr/bird.log" all;
debug protocols { states };
router id 192.168.0.1;
protocol device { scan time 1; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths yes;
}
$(bfd_conf eth1)
template bgp director {
  local 192.168.0.1 as $RTR_AS;
$(bgp_timers)
  ipv4 { import all; export none; };
}
EOF
    for i in $(seq 1 "$NDIR"); do
      echo "protocol bgp d$i from director { neighbor $(dip "$i") as $DIR_AS; }"
    done
  } > "$STATE/rtr/bird.conf"
}

start_bird() { # start_bird NS DIR: in the foreground of a recorded PID
  spawn "$2/bird.out" "$1" bird -f -c "$2/bird.conf" -s "$2/bird.ctl" -P "$2/bird.pid"
  wait_for 10 birdc -s "$2/bird.ctl" show status \
    || { echo "lab-ecmp.sh: BIRD in $1 did not start:" >&2; cat "$2/bird.out" "$2/bird.log" >&2 2>/dev/null; return 1; }
}

# rvsd rewrites the include file itself when it knows `announce:`; an older
# rvsd does not, and the lab announces for it (the route then lives as long
# as the BGP session, which dies with rvsd anyway).
detect_announce() {
  ANNOUNCE=rvsd
  mkdir -p "$STATE/d1"
  write_rvsd_config 1
  local err
  if ! err=$("$RVSD" --check --config "$STATE/d1/rvsd.yaml" 2>&1); then
    ANNOUNCE=lab
    echo "lab-ecmp.sh: this rvsd refuses announce:/sloppy_tcp ($err): the lab announces the VIP itself" >&2
  fi
  echo "$ANNOUNCE" > "$STATE/announce"
}

start_rs() { # start_rs NS NAME ADDR
  local ns=$1 name=$2
  spawn "$STATE/$name.log" "$ns" python3 "$here/lab/httpd.py" "$name" "$3" 80
  if [ "$MODE" = tun ]; then spawn "$STATE/$name-decap.log" "$ns" python3 "$here/lab/ipip_decap.py"; fi
}

start_director() { # start_director I
  local i=$1 ns d=$STATE/d$1 tap="t${ID}d$1"
  ns=$(dir_ns "$i")
  spawn "$d/rvsd.log" "$ns" "$RVSD" --config "$d/rvsd.yaml"
  echo "$LAST_PID" > "$d/rvsd.pid"
  local pid=$LAST_PID
  for _ in $(seq 1 300); do
    grep -q "rvsd: ready" "$d/rvsd.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "rvsd: ready" "$d/rvsd.log"; then
    echo "lab-ecmp.sh: rvsd of d$i did not become ready:" >&2; cat "$d/rvsd.log" >&2; return 1
  fi
  local moved=0
  for _ in $(seq 1 10); do
    if ip -n "$ns" link set "$tap" netns "$NS_LAN" 2>/dev/null || ip -n "$NS_LAN" link show "$tap" >/dev/null 2>&1; then
      moved=1; break
    fi
    sleep 0.3
  done
  [ "$moved" = 1 ] || { echo "lab-ecmp.sh: cannot move $tap to $NS_LAN" >&2; return 1; }
  nsx "$NS_LAN" ip link set "$tap" address "$(kmac "$i")"
  nsx "$NS_LAN" ip link set "$tap" master br0 up
}

lab_up() {
  [ "$(id -u)" -eq 0 ] || { echo "lab-ecmp.sh: must run as root (network namespaces)" >&2; exit 1; }
  [ -c /dev/net/tun ] || { echo "lab-ecmp.sh: /dev/net/tun missing" >&2; exit 1; }
  [ -x "$RVSD" ] || { echo "lab-ecmp.sh: $RVSD not built (cargo build --release)" >&2; exit 1; }
  command -v bird >/dev/null || { echo "lab-ecmp.sh: bird (BIRD 2) missing: scripts/setup.sh installs bird2" >&2; exit 1; }
  case $MODE in dr|tun) ;; *) echo "lab-ecmp.sh: --mode dr|tun" >&2; exit 1;; esac
  [ "$NDIR" -ge 1 ] && [ "$NDIR" -le 9 ] || { echo "lab-ecmp.sh: --directors 1..9" >&2; exit 1; }
  lab_down >/dev/null 2>&1 || true
  rm -rf "$STATE"   # the last run's logs and sockets
  mkdir -p "$STATE/rtr"; : > "$STATE/pids"; : > "$STATE/netns"
  echo "$MODE" > "$STATE/mode"; echo "$NDIR" > "$STATE/directors"; echo "$BFD" > "$STATE/bfd"
  # Any failure from here on takes down what was made so far.
  trap 'rc=$?; if [ $rc -ne 0 ]; then echo "lab-ecmp.sh: up failed, tearing down" >&2; lab_down >&2; fi' EXIT
  detect_announce

  for ns in $NS_CLI $NS_RTR $NS_LAN $NS_RS1 $NS_RS2; do mkns "$ns"; done
  nsx "$NS_LAN" ip link add br0 type bridge
  nsx "$NS_LAN" ip link set br0 up

  # client -- router
  ip link add "v${ID}c" netns "$NS_CLI" type veth peer name eth0 netns "$NS_RTR"
  nsx "$NS_CLI" ip addr add 10.0.1.2/24 dev "v${ID}c"
  nsx "$NS_CLI" ip link set "v${ID}c" up
  nsx "$NS_CLI" ip route add default via 10.0.1.1
  nsx "$NS_RTR" ip addr add 10.0.1.1/24 dev eth0
  nsx "$NS_RTR" ip link set eth0 up
  # router -- lan
  ip link add "v${ID}l" netns "$NS_LAN" type veth peer name eth1 netns "$NS_RTR"
  nsx "$NS_LAN" ip link set "v${ID}l" master br0 up
  nsx "$NS_RTR" ip addr add 192.168.0.1/24 dev eth1
  nsx "$NS_RTR" ip link set eth1 up
  nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0

  # real servers
  local i=1
  for ns in $NS_RS1 $NS_RS2; do
    ip link add "v${ID}r$i" netns "$NS_LAN" type veth peer name eth0 netns "$ns"
    nsx "$NS_LAN" ip link set "v${ID}r$i" master br0 up
    nsx "$ns" ip link set eth0 up
    nsx "$ns" ip addr add "192.168.0.${i}0/24" dev eth0
    nsx "$ns" ip route add default via 192.168.0.1
    nsx "$ns" ip addr add $VIP/32 dev lo
    nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    nsx "$ns" sysctl -qw net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
    # Replies leave with the VIP as source towards the client: no rp_filter drops.
    nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
    i=$((i + 1))
  done
  start_rs "$NS_RS1" webserver1 192.168.0.10
  start_rs "$NS_RS2" webserver2 192.168.0.20

  # the router's BIRD
  write_rtr_bird
  start_bird "$NS_RTR" "$STATE/rtr"

  # the directors: rvsd, then their BIRD (its session needs the exception path)
  for i in $(seq 1 "$NDIR"); do
    mkdir -p "$STATE/d$i"
    mkns "$(dir_ns "$i")"
    write_include "$i"
    write_rvsd_config "$i"
    write_dir_bird "$i"
    start_director "$i"
    start_bird "$(dir_ns "$i")" "$STATE/d$i"
    if [ "$ANNOUNCE" = lab ]; then
      write_include "$i" "$VIP"
      birdc -s "$STATE/d$i/bird.ctl" configure >/dev/null
    fi
  done

  if [ "$MODE" = tun ]; then
    for n in webserver1 webserver2; do
      wait_for 10 grep -q ready "$STATE/$n-decap.log" || { echo "lab-ecmp.sh: decapsulator $n did not start" >&2; return 1; }
    done
  fi
  for ns in $NS_RS1 $NS_RS2; do
    wait_for 10 nsx "$ns" python3 -c "import socket; socket.create_connection(('127.0.0.1', 80), 1)" \
      || { echo "lab-ecmp.sh: http server in $ns did not start" >&2; return 1; }
  done
  # Converged: the router's kernel route of the VIP has a next hop per director.
  if ! wait_for 30 all_nexthops; then
    echo "lab-ecmp.sh: the router has $(nexthops) of $NDIR next hops for $VIP:" >&2
    nsx "$NS_RTR" ip route show "$VIP" >&2
    birdc -s "$STATE/rtr/bird.ctl" show protocols >&2
    return 1
  fi
  trap - EXIT
  echo "lab-ecmp.sh: lab $ID up (mode $MODE, $NDIR directors, bfd $BFD, sched $SCHED, sync $SYNC, announce by $ANNOUNCE); state $STATE"
}

nexthops() { # next hops of the router's kernel route for the VIP
  nsx "$NS_RTR" ip route show "$VIP" | grep -c -E 'via 192\.168\.0\.5[0-9]' || true
}

all_nexthops() { [ "$(nexthops)" -eq "$NDIR" ]; }

kill_pid() { # kill_pid PID: TERM, wait, KILL — only processes this lab started
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

lab_down() {
  # rvsd first (it prints its final counters on SIGTERM, withdraws its VIPs), then the rest.
  local f pid ns
  for f in "$STATE"/d*/rvsd.pid; do
    [ -f "$f" ] || continue
    kill_pid "$(cat "$f")"; rm -f "$f"
  done
  if [ -f "$STATE/pids" ]; then
    while read -r pid; do [ -n "$pid" ] && kill_pid "$pid"; done < "$STATE/pids"
    rm -f "$STATE/pids"
  fi
  # The namespaces this lab recorded, and by name those a crashed run may not have.
  local -a all=()
  [ -f "$STATE/netns" ] && mapfile -t all < "$STATE/netns"
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${P}-(cli|rtr|lan|rs[12]|d[0-9])$" || true); do
    all+=("$ns")
  done
  for ns in "${all[@]}"; do
    ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
    # Anything still running inside our namespaces was started by this lab.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "$STATE/netns"
  rm -f "/dev/shm/${P}d"* 2>/dev/null || true
  rm -rf "/var/run/dpdk/${P}d"* 2>/dev/null || true
  echo "lab-ecmp.sh: lab $ID down"
}

lab_status() {
  ip netns list | grep "^$P-" || echo "no namespaces for lab $ID"
  local f i
  for f in "$STATE"/d*/rvsd.pid; do
    [ -f "$f" ] || continue
    i=$(basename "$(dirname "$f")")
    kill -0 "$(cat "$f")" 2>/dev/null && echo "$i: rvsd running (pid $(cat "$f"))" || echo "$i: rvsd not running"
  done
  if [ -S "$STATE/rtr/bird.ctl" ]; then
    birdc -s "$STATE/rtr/bird.ctl" show protocols || true
    nsx "$NS_RTR" ip route show "$VIP" || true
  fi
  return 0
}

case "$cmd" in
  up) lab_up;;
  down) lab_down;;
  status) lab_status;;
  exec) ns=$1; shift; nsx "$P-$ns" "$@";;
  *) sed -n '2,33p' "$0"; exit 2;;
esac
