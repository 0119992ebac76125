#!/usr/bin/env bash
# Build the Debian package, install it on this machine with dpkg -i, check
# what it installed, then purge it (also on failure). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "deb-test.sh: needs root (dpkg -i)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' ipvsadm 2>/dev/null | grep -q "install ok installed"; then
  echo "deb-test.sh: a real ipvsadm is installed: the alternatives check would not be meaningful" >&2
  exit 1
fi
deb=$(./scripts/package.sh | tail -n 1)
[ -f "$deb" ] || { echo "deb-test.sh: package.sh made no .deb ($deb)" >&2; exit 1; }
purge() { dpkg --purge rvs >/dev/null 2>&1 || true; }
trap purge EXIT
fail() { echo "deb-test.sh: FAIL: $*" >&2; exit 1; }

dpkg -i "$deb"
for f in /usr/sbin/rvsd /usr/sbin/rvsadm /usr/sbin/rvsadm-save /usr/sbin/rvsadm-restore \
         /lib/systemd/system/rvsd.service /lib/systemd/system/rvs-rules.service /etc/rvs/rvsd.yaml \
         /usr/share/man/man8/rvsd.8.gz /usr/share/man/man8/rvsadm.8.gz /usr/share/doc/rvs/configuration.md; do
  [ -e "$f" ] || fail "$f not installed"
done
zcat /usr/share/man/man8/rvsd.8.gz | grep -q '^\.TH rvsd 8' || fail "rvsd.8 is not a man page"
zcat /usr/share/man/man8/rvsadm.8.gz | grep -q '^\.TH rvsadm 8' || fail "rvsadm.8 is not a man page"
dpkg-query -W -f='${Depends}\n' rvs | grep -q 'librte' || fail "no DPDK library in Depends"
# The installed daemon checks the installed template and every example.
/usr/sbin/rvsd --check --config /etc/rvs/rvsd.yaml | grep -q "configuration OK" || fail "template refused"
n=0
for y in /usr/share/doc/rvs/examples/*.yaml; do
  /usr/sbin/rvsd --check --config "$y" | grep -q "configuration OK" || fail "$y refused"
  n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n examples installed"
# ipvsadm's names lead to rvsadm.
[ "$(readlink -f /usr/sbin/ipvsadm)" = /usr/sbin/rvsadm ] || fail "ipvsadm is not rvsadm"
[ "$(readlink -f /usr/sbin/ipvsadm-save)" = /usr/sbin/rvsadm-save ] || fail "ipvsadm-save"
[ "$(readlink -f /usr/sbin/ipvsadm-restore)" = /usr/sbin/rvsadm-restore ] || fail "ipvsadm-restore"
ipvsadm -h | grep -q "^Usage:" || fail "ipvsadm -h"
ipvsadm -v | grep -q "^rvsadm v" || fail "ipvsadm -v"
# The units parse (systemd is not PID 1 here; verify reads the files).
SYSTEMD_LOG_LEVEL=err systemd-analyze verify /lib/systemd/system/rvsd.service /lib/systemd/system/rvs-rules.service \
  || fail "systemd-analyze verify"
grep -q '^Type=notify' /lib/systemd/system/rvsd.service || fail "rvsd.service is not Type=notify"
# Purge removes the alternatives with the package.
dpkg --purge rvs
[ ! -e /usr/sbin/ipvsadm ] || fail "ipvsadm alternative left after purge"
[ ! -e /usr/sbin/rvsd ] || fail "rvsd left after purge"
trap - EXIT
echo "deb-test.sh: OK: $(basename "$deb") installed, checked ($n examples) and purged"
