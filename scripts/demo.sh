#!/usr/bin/env bash
# The rvs demo: install what is missing, build, bring up the seed's NAT lab
# (client 172.25.254.200 -> VIP 172.25.254.100 -> webserver1/webserver2),
# show the director answering ping and balancing curl round robin, print
# its counters, and tear everything down (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --bins
ID=demo
trap './scripts/lab.sh down --id $ID >/dev/null 2>&1 || true' EXIT
./scripts/lab.sh up --id $ID --mode nat --workers 1
lab() { ./scripts/lab.sh exec --id $ID "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "ping the director's client-side address (the VIP) from the client namespace"
lab cli ping -c 3 -i 0.2 172.25.254.100
say "ping the director's server-side address (DIP) from webserver1"
lab rs1 ping -c 3 -i 0.2 192.168.0.100
say "curl the VIP four times: rr sends requests to webserver1, webserver2, ..."
for _ in 1 2 3 4; do lab cli curl -sS --max-time 5 http://172.25.254.100/; done
if [ -x target/release/rvsadm ] && target/release/rvsadm --help >/dev/null 2>&1; then
  export RVSADM_SOCKET=/tmp/rvs-lab-$ID/rvsd.sock
  say "rvsadm -Ln (ipvsadm's view of the table)"
  target/release/rvsadm -Ln || true
  say "rvsadm -Ln --stats"
  target/release/rvsadm -Ln --stats || true
fi
say "stop rvsd: its final counters"
./scripts/lab.sh down --id $ID >/dev/null
sed -n '/rvsd: final counters/,$p' /tmp/rvs-lab-$ID/rvsd.log
trap - EXIT
