#!/usr/bin/env bash
# rvs lab: network namespaces around a DPDK rvsd, like the seed's LVS labs.
#
#   scripts/lab.sh up   [--id ID] [--mode nat|fullnat|dr|tun|mixed] [--workers N] [--services FILE|none] [--ipv6] [--no-kernel]
#   scripts/lab.sh down [--id ID]
#   scripts/lab.sh status [--id ID]
#   scripts/lab.sh exec [--id ID] NS-SUFFIX CMD...    (e.g. exec cli curl -s 172.25.254.100)
#
# Topologies (every address lives only inside namespaces this script makes):
#   nat / fullnat  cli(172.25.254.200) ==tap== [dir: rvsd 172.25.254.100 | 192.168.0.100] ==tap== lan bridge
#                  lan bridge -- rs1 192.168.0.10, rs2 192.168.0.20 (nat: gateway .100; fullnat: no route to the client)
#   dr / tun       cli(172.25.254.200) -- rtr(172.25.254.100 | 192.168.0.100) -- lan bridge
#                  lan bridge -- rs1, rs2 (VIP 192.168.0.200 on lo, arp_ignore=1/arp_announce=2, gateway .100)
#                  lan bridge ==tap== [dir: rvsd 192.168.0.50, VIP 192.168.0.200]
#                  tun: rs1/rs2 run the userspace IPIP decapsulator (no ipip module on this kernel),
#                  with --ipv6 also the IPv6-in-IPv6 one (no ip6_tunnel module either).
#   mixed          (the soak) the nat topology with all four modes at once: NAT 172.25.254.100:80,
#                  FULLNAT 172.25.254.100:443, DR 192.168.0.200:80, TUN 192.168.0.200:443. DR/TUN
#                  replies (source 192.168.0.200, policy-routed on rs1/rs2) return through
#                  rtr (192.168.0.1 | 10.255.0.1) to a second client interface (10.255.0.2).
# rvsd runs in the dir namespace; its net_tap devices are moved to the peers.
#
# --ipv6 (nat, fullnat, dr, tun): dual stack, every IPv4 address above keeps
# its place and gains an IPv6 twin; DAD and router advertisements are off in
# every namespace (no tentative addresses, no autoconfigured routes):
#   nat / fullnat  cli 2001:db8:c::200 -- dir 2001:db8:c::100 (the VIP) | 2001:db8:1::100 -- lan
#                  rs1 2001:db8:1::10, rs2 2001:db8:1::20 (nat: gateway ::100), LIPs ::101, ::102
#   dr / tun       cli 2001:db8:c::200 -- rtr 2001:db8:c::100 | 2001:db8:1::1 -- lan; dir 2001:db8:1::50
#                  VIP 2001:db8:1::200 on the real servers' lo, their gateway ::1. Linux answers a
#                  neighbour solicitation only for addresses on the interface it came in on
#                  (ndisc_recv_ns looks the target up strictly on that device), so the VIP on lo
#                  needs no arp_ignore twin: only rvsd answers for it on the LAN.
#   The servers answer on [::]:80 too, naming their IPv6 address. The default services gain
#   IPv6 twins (nat: TCP 80 and UDP 53->80; fullnat: the same with IPv6 LIPs; dr and tun:
#   TCP 80 to VIP6 2001:db8:1::200; tun's IPv6-in-IPv6 goes 2001:db8:1::50 -> the RS's address).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

cmd=${1:-}; shift || true
ID=0; MODE=nat; WORKERS=1; SERVICES=""; IPV6=0; KERNEL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --id) ID=$2; shift 2;;
    --mode) MODE=$2; shift 2;;
    --workers) WORKERS=$2; shift 2;;
    --services) SERVICES=$2; shift 2;;
    --ipv6) IPV6=1; shift;;
    --no-kernel) KERNEL=0; shift;;
    *) break;;
  esac
done

P="rvs${ID}"
STATE="/tmp/rvs-lab-${ID}"
RVSD=${RVSD:-$root/target/release/rvsd}
NS_DIR=$P-dir NS_CLI=$P-cli NS_LAN=$P-lan NS_RS1=$P-rs1 NS_RS2=$P-rs2 NS_RTR=$P-rtr
TAP_C="t${ID}c" TAP_S="t${ID}s"
VIP_DR=192.168.0.200
VIP6_DR=2001:db8:1::200

need_root() {
  [ "$(id -u)" -eq 0 ] || { echo "lab.sh: must run as root (network namespaces)" >&2; exit 1; }
  [ -c /dev/net/tun ] || { echo "lab.sh: /dev/net/tun missing: net_tap cannot work" >&2; exit 1; }
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

move_tap() { # move_tap DEV NS: one of rvsd's taps from the director's namespace to NS
  # Seen once in CI: the move found no device right after rvsd was ready
  # (rvsd had received on it). Wait for the device and retry a few times
  # before giving up, saying where the device is.
  local dev=$1 ns=$2
  for _ in 1 2 3 4 5; do
    if ip -n "$NS_DIR" link show "$dev" >/dev/null 2>&1 && ip -n "$NS_DIR" link set "$dev" netns "$ns" 2>/dev/null; then
      return 0
    fi
    nsx "$ns" ip link show "$dev" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "lab.sh: cannot move $dev to $ns; director namespace has: $(ip -n "$NS_DIR" -o link show | cut -d: -f2 | tr -d ' ' | tr '\n' ' ')" >&2
  return 1
}

wait_for() { # wait_for SECONDS CMD...
  local t=$1; shift
  for _ in $(seq 1 $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

v6() { # v6 TEXT: print TEXT only with --ipv6 (config fragments)
  [ "$IPV6" = 1 ] && printf '%s' "$1"
  return 0
}

ns6_init() { # ns6_init NS: no DAD, no RA/autoconf for every interface made or moved there later
  local k
  for k in all default; do
    nsx "$1" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=0" "net.ipv6.conf.$k.accept_dad=0" \
      "net.ipv6.conf.$k.dad_transmits=0" "net.ipv6.conf.$k.accept_ra=0" "net.ipv6.conf.$k.autoconf=0"
  done
}

addr6() { # addr6 NS ADDR/LEN DEV: an address usable at once (no DAD)
  nsx "$1" ip -6 addr add "$2" dev "$3" nodad
}

write_config() {
  local cfg=$STATE/rvsd.yaml
  # The exception path: each link gets a kernel interface in the director
  # namespace (named as the link: client, server, lan) unless --no-kernel.
  local K=""
  [ "$KERNEL" = 1 ] && K=", kernel: {}"
  {
    echo "dpdk: { memory_mb: 256, mbufs: 8191, file_prefix: ${P} }"
    echo "workers: { count: ${WORKERS} }"
    echo "control: { socket: ${STATE}/rvsd.sock }"
    echo "interfaces:"
    case $MODE in
      nat|fullnat|mixed)
        echo "  - { name: client, device: 'net_tap0,iface=${TAP_C}', addresses: [172.25.254.100/24$(v6 ", '2001:db8:c::100/64'")]$K }"
        echo "  - { name: server, device: 'net_tap1,iface=${TAP_S}', addresses: [192.168.0.100/24$(v6 ", '2001:db8:1::100/64'")]$K }"
        ;;
      dr|tun)
        echo "  - { name: lan, device: 'net_tap0,iface=${TAP_S}', addresses: [192.168.0.50/24$(v6 ", '2001:db8:1::50/64'")]$K }"
        echo "routes:"
        echo "  - { prefix: 0.0.0.0/0, via: 192.168.0.100, dev: lan }"
        v6 "  - { prefix: '::/0', via: '2001:db8:1::1', dev: lan }"$'\n'
        ;;
      *) echo "lab.sh: unknown mode $MODE" >&2; exit 1;;
    esac
    if [ "$SERVICES" = "none" ]; then
      :
    elif [ -n "$SERVICES" ]; then
      cat "$SERVICES"
    else
      echo "services:"
      case $MODE in
        nat) echo "  - { vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }"
             echo "  - { vip: 172.25.254.100, port: 53, proto: udp, scheduler: rr, dests: [ { addr: 192.168.0.10, port: 80, fwd: nat }, { addr: 192.168.0.20, port: 80, fwd: nat } ] }";;
        fullnat) echo "  - { vip: 172.25.254.100, port: 80, scheduler: rr, laddrs: [192.168.0.101, 192.168.0.102], dests: [ { addr: 192.168.0.10, fwd: fullnat }, { addr: 192.168.0.20, fwd: fullnat } ] }"
                 echo "  - { vip: 172.25.254.100, port: 53, proto: udp, scheduler: rr, laddrs: [192.168.0.101], dests: [ { addr: 192.168.0.10, port: 80, fwd: fullnat }, { addr: 192.168.0.20, port: 80, fwd: fullnat } ] }";;
        dr) echo "  - { vip: ${VIP_DR}, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }";;
        tun) echo "  - { vip: ${VIP_DR}, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: tun }, { addr: 192.168.0.20, fwd: tun } ] }";;
        mixed) echo "  - { vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }"
               echo "  - { vip: 172.25.254.100, port: 443, scheduler: rr, laddrs: [192.168.0.101, 192.168.0.102], dests: [ { addr: 192.168.0.10, fwd: fullnat }, { addr: 192.168.0.20, fwd: fullnat } ] }"
               echo "  - { vip: ${VIP_DR}, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }"
               echo "  - { vip: ${VIP_DR}, port: 443, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: tun }, { addr: 192.168.0.20, fwd: tun } ] }";;
      esac
      if [ "$IPV6" = 1 ]; then
        local rs="{ addr: '2001:db8:1::10'" rs2="{ addr: '2001:db8:1::20'"
        case $MODE in
          nat) echo "  - { vip: '2001:db8:c::100', port: 80, scheduler: rr, dests: [ $rs, fwd: nat }, $rs2, fwd: nat } ] }"
               echo "  - { vip: '2001:db8:c::100', port: 53, proto: udp, scheduler: rr, dests: [ $rs, port: 80, fwd: nat }, $rs2, port: 80, fwd: nat } ] }";;
          fullnat) echo "  - { vip: '2001:db8:c::100', port: 80, scheduler: rr, laddrs: ['2001:db8:1::101', '2001:db8:1::102'], dests: [ $rs, fwd: fullnat }, $rs2, fwd: fullnat } ] }"
                   echo "  - { vip: '2001:db8:c::100', port: 53, proto: udp, scheduler: rr, laddrs: ['2001:db8:1::101'], dests: [ $rs, port: 80, fwd: fullnat }, $rs2, port: 80, fwd: fullnat } ] }";;
          dr) echo "  - { vip: '${VIP6_DR}', port: 80, scheduler: rr, dests: [ $rs, fwd: dr }, $rs2, fwd: dr } ] }";;
          tun) echo "  - { vip: '${VIP6_DR}', port: 80, scheduler: rr, dests: [ $rs, fwd: tun }, $rs2, fwd: tun } ] }";;
        esac
      fi
    fi
  } > "$cfg"
}

mixed_return_path() { # DR/TUN replies: rs -> rtr -> the client's second interface
  ip link add "v${ID}c" netns "$NS_CLI" type veth peer name eth0 netns "$NS_RTR"
  nsx "$NS_CLI" ip addr add 10.255.0.2/30 dev "v${ID}c"
  nsx "$NS_CLI" ip link set "v${ID}c" up
  nsx "$NS_CLI" sysctl -qw net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.v${ID}c.rp_filter=0"
  nsx "$NS_RTR" ip addr add 10.255.0.1/30 dev eth0
  nsx "$NS_RTR" ip link set eth0 up
  ip link add "v${ID}l" netns "$NS_LAN" type veth peer name eth1 netns "$NS_RTR"
  nsx "$NS_LAN" ip link set "v${ID}l" master br0 up
  nsx "$NS_RTR" ip addr add 192.168.0.1/24 dev eth1
  nsx "$NS_RTR" ip link set eth1 up
  nsx "$NS_RTR" ip route add 172.25.254.0/24 via 10.255.0.2
  nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
  for ns in $NS_RS1 $NS_RS2; do
    nsx "$ns" ip addr add $VIP_DR/32 dev lo
    nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    nsx "$ns" sysctl -qw net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
    nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
    nsx "$ns" ip rule add from $VIP_DR lookup 100
    nsx "$ns" ip route add default via 192.168.0.1 dev eth0 table 100
  done
}

start_rs() { # start_rs NS NAME ADDR [ADDR6]
  local ns=$1 name=$2 addr=$3
  local -a six=()
  [ -n "${4:-}" ] && six=(--v6 "$4")
  ip netns exec "$ns" python3 "$here/lab/httpd.py" "$name" "$addr" 80 "${six[@]}" > "$STATE/$name.log" 2>&1 &
  echo $! >> "$STATE/pids"
  ip netns exec "$ns" python3 "$here/lab/httpd.py" "$name" "$addr" 443 "${six[@]}" > "$STATE/$name-443.log" 2>&1 &
  echo $! >> "$STATE/pids"
  if [ "$MODE" = tun ] || [ "$MODE" = mixed ]; then
    ip netns exec "$ns" python3 "$here/lab/ipip_decap.py" > "$STATE/$name-decap.log" 2>&1 &
    echo $! >> "$STATE/pids"
  fi
  if [ "$MODE" = tun ] && [ "$IPV6" = 1 ]; then
    # Its own tun device; on SIGTERM (lab down) it logs what it decapsulated.
    ip netns exec "$ns" python3 "$here/lab/ip6ip6_decap.py" > "$STATE/$name-decap6.log" 2>&1 &
    echo $! >> "$STATE/pids"
  fi
}

lab_up() {
  need_root
  lab_down >/dev/null 2>&1 || true
  mkdir -p "$STATE"; : > "$STATE/pids"
  echo "$MODE" > "$STATE/mode"
  [ -x "$RVSD" ] || { echo "lab.sh: $RVSD not built (cargo build --release)" >&2; exit 1; }
  for ns in $NS_DIR $NS_CLI $NS_LAN $NS_RS1 $NS_RS2; do ip netns add "$ns"; nsx "$ns" ip link set lo up; done
  case $MODE in dr|tun|mixed) ip netns add "$NS_RTR"; nsx "$NS_RTR" ip link set lo up;; esac
  if [ "$IPV6" = 1 ]; then
    [ "$MODE" = mixed ] && { echo "lab.sh: --ipv6 is not available for the mixed lab" >&2; exit 1; }
    for ns in $NS_DIR $NS_CLI $NS_LAN $NS_RS1 $NS_RS2; do ns6_init "$ns"; done
    case $MODE in dr|tun) ns6_init "$NS_RTR";; esac
  fi
  write_config

  # The LAN: a bridge in its own namespace, one veth per real server.
  nsx "$NS_LAN" ip link add br0 type bridge
  # No MLD snooping: rvsd joins no groups, so its solicited-node multicast
  # must be flooded like any unknown group.
  [ "$IPV6" = 1 ] && nsx "$NS_LAN" ip link set br0 type bridge mcast_snooping 0
  nsx "$NS_LAN" ip link set br0 up
  local i=1
  for ns in $NS_RS1 $NS_RS2; do
    ip link add "v${ID}r$i" netns "$NS_LAN" type veth peer name eth0 netns "$ns"
    nsx "$NS_LAN" ip link set "v${ID}r$i" master br0 up
    nsx "$ns" ip link set eth0 up
    nsx "$ns" ip addr add "192.168.0.${i}0/24" dev eth0
    [ "$IPV6" = 1 ] && addr6 "$ns" "2001:db8:1::${i}0/64" eth0
    i=$((i + 1))
  done

  # rvsd in the director namespace; its taps appear there.
  ip netns exec "$NS_DIR" "$RVSD" --config "$STATE/rvsd.yaml" > "$STATE/rvsd.log" 2>&1 &
  echo $! > "$STATE/rvsd.pid"
  if ! wait_for 30 grep -q "rvsd: ready" "$STATE/rvsd.log"; then
    echo "lab.sh: rvsd did not become ready:" >&2; cat "$STATE/rvsd.log" >&2; exit 1
  fi

  case $MODE in
    nat|fullnat|mixed)
      move_tap "$TAP_C" "$NS_CLI"
      # net_tap gives the kernel side the port's own MAC: change it, or a
      # bridge would treat frames to the director as its own.
      nsx "$NS_CLI" ip link set "$TAP_C" address "$(kmac 1)"
      nsx "$NS_CLI" ip addr add 172.25.254.200/24 dev "$TAP_C"
      nsx "$NS_CLI" ip link set "$TAP_C" up
      nsx "$NS_CLI" ip route add default via 172.25.254.100
      if [ "$IPV6" = 1 ]; then
        addr6 "$NS_CLI" 2001:db8:c::200/64 "$TAP_C"
        nsx "$NS_CLI" ip -6 route add default via 2001:db8:c::100
      fi
      move_tap "$TAP_S" "$NS_LAN"
      nsx "$NS_LAN" ip link set "$TAP_S" address "$(kmac 2)"
      nsx "$NS_LAN" ip link set "$TAP_S" master br0 up
      if [ "$MODE" = nat ] || [ "$MODE" = mixed ]; then
        for ns in $NS_RS1 $NS_RS2; do nsx "$ns" ip route add default via 192.168.0.100; done
        if [ "$IPV6" = 1 ]; then
          for ns in $NS_RS1 $NS_RS2; do nsx "$ns" ip -6 route add default via 2001:db8:1::100; done
        fi
      fi
      if [ "$MODE" = mixed ]; then mixed_return_path; fi
      ;;
    dr|tun)
      ip link add "v${ID}c" netns "$NS_CLI" type veth peer name eth0 netns "$NS_RTR"
      nsx "$NS_CLI" ip addr add 172.25.254.200/24 dev "v${ID}c"
      nsx "$NS_CLI" ip link set "v${ID}c" up
      nsx "$NS_CLI" ip route add default via 172.25.254.100
      nsx "$NS_RTR" ip addr add 172.25.254.100/24 dev eth0
      nsx "$NS_RTR" ip link set eth0 up
      ip link add "v${ID}l" netns "$NS_LAN" type veth peer name eth1 netns "$NS_RTR"
      nsx "$NS_LAN" ip link set "v${ID}l" master br0 up
      nsx "$NS_RTR" ip addr add 192.168.0.100/24 dev eth1
      nsx "$NS_RTR" ip link set eth1 up
      nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1
      if [ "$IPV6" = 1 ]; then
        addr6 "$NS_CLI" 2001:db8:c::200/64 "v${ID}c"
        nsx "$NS_CLI" ip -6 route add default via 2001:db8:c::100
        addr6 "$NS_RTR" 2001:db8:c::100/64 eth0
        addr6 "$NS_RTR" 2001:db8:1::1/64 eth1
        nsx "$NS_RTR" sysctl -qw net.ipv6.conf.all.forwarding=1
      fi
      move_tap "$TAP_S" "$NS_LAN"
      nsx "$NS_LAN" ip link set "$TAP_S" address "$(kmac 2)"
      nsx "$NS_LAN" ip link set "$TAP_S" master br0 up
      for ns in $NS_RS1 $NS_RS2; do
        nsx "$ns" ip route add default via 192.168.0.100
        nsx "$ns" ip addr add $VIP_DR/32 dev lo
        nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
        nsx "$ns" sysctl -qw net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
        # Replies leave with the VIP as source towards the client: no rp_filter drops.
        nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
        if [ "$IPV6" = 1 ]; then
          nsx "$ns" ip -6 route add default via 2001:db8:1::1
          addr6 "$ns" $VIP6_DR/128 lo
        fi
      done
      ;;
  esac
  start_rs "$NS_RS1" webserver1 192.168.0.10 "$(v6 2001:db8:1::10)"
  start_rs "$NS_RS2" webserver2 192.168.0.20 "$(v6 2001:db8:1::20)"
  if [ "$MODE" = tun ] || [ "$MODE" = mixed ]; then
    for n in webserver1 webserver2; do
      wait_for 10 grep -q ready "$STATE/$n-decap.log" || { echo "lab.sh: decapsulator $n did not start" >&2; exit 1; }
      if [ "$MODE" = tun ] && [ "$IPV6" = 1 ]; then
        wait_for 10 grep -q ready "$STATE/$n-decap6.log" \
          || { echo "lab.sh: IPv6 decapsulator $n did not start:" >&2; cat "$STATE/$n-decap6.log" >&2; exit 1; }
      fi
    done
  fi
  for ns in $NS_RS1 $NS_RS2; do
    wait_for 10 nsx "$ns" python3 -c "import socket; socket.create_connection(('127.0.0.1', 80), 1)" \
      || { echo "lab.sh: http server in $ns did not start" >&2; exit 1; }
    if [ "$IPV6" = 1 ]; then
      wait_for 10 nsx "$ns" python3 -c "import socket; socket.create_connection(('::1', 80), 1)" \
        || { echo "lab.sh: http server in $ns did not start on IPv6" >&2; exit 1; }
    fi
  done
  echo "lab.sh: lab $ID up (mode $MODE$(v6 ", dual stack"), $WORKERS workers); rvsd pid $(cat "$STATE/rvsd.pid"), log $STATE/rvsd.log"
}

kmac() { printf '02:72:76:%02x:%02x:%02x\n' $(( $(printf '%d' "'${ID:0:1}") & 255 )) "${#ID}" "$1"; }

kill_pid() { # kill_pid PID: TERM, wait, KILL — only processes this lab started
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

lab_down() {
  # rvsd first (it prints its final counters on SIGTERM), then the rest.
  if [ -f "$STATE/rvsd.pid" ]; then kill_pid "$(cat "$STATE/rvsd.pid")"; rm -f "$STATE/rvsd.pid"; fi
  if [ -f "$STATE/pids" ]; then
    while read -r pid; do [ -n "$pid" ] && kill_pid "$pid"; done < "$STATE/pids"
    rm -f "$STATE/pids"
  fi
  for ns in $NS_DIR $NS_CLI $NS_LAN $NS_RS1 $NS_RS2 $NS_RTR; do
    if ip netns list | grep -qw "^$ns"; then
      # Anything still running inside our namespaces was started by this lab.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  rm -f "/dev/shm/${P}"* 2>/dev/null || true
  rm -rf "/var/run/dpdk/${P}" 2>/dev/null || true
  echo "lab.sh: lab $ID down"
}

lab_status() {
  ip netns list | grep "^$P-" || echo "no namespaces for lab $ID"
  [ -f "$STATE/rvsd.pid" ] && { kill -0 "$(cat "$STATE/rvsd.pid")" 2>/dev/null && echo "rvsd running (pid $(cat "$STATE/rvsd.pid"))" || echo "rvsd not running"; }
  return 0
}

case "$cmd" in
  up) lab_up;;
  down) lab_down;;
  status) lab_status;;
  exec) ns=$1; shift; nsx "$P-$ns" "$@";;
  *) sed -n '2,20p' "$0"; exit 2;;
esac
