#!/usr/bin/env bash
# Builds ipvsadm 1.31 from Debian's original tarball against the netlink
# stand-in of tests/ipvsadm-ref/standin, into $1 (default
# target/ipvsadm-ref).  The tarball is downloaded once, checked against
# its sha256, and never committed.  Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/ipvsadm-ref}"
url=http://deb.debian.org/debian/pool/main/i/ipvsadm/ipvsadm_1.31.orig.tar.gz
sha=7276bcf214f31051188b2e44f11029e57303f37e54126e517000c1b2123a6d4e
tarball="$out/ipvsadm_1.31.orig.tar.gz"
mkdir -p "$out"
if ! echo "$sha  $tarball" | sha256sum -c --status 2>/dev/null; then
  curl -fsSL --retry 3 -o "$tarball.part" "$url"
  echo "$sha  $tarball.part" | sha256sum -c --status || { echo "build.sh: checksum mismatch for $url" >&2; exit 1; }
  mv "$tarball.part" "$tarball"
fi
src="$out/ipvsadm-1.31"
if [ ! -f "$src/ipvsadm.c" ]; then
  tar -xzf "$tarball" -C "$out"
fi
[ -f /usr/include/popt.h ] || { echo "build.sh: popt.h missing: run scripts/setup.sh (libpopt-dev)" >&2; exit 1; }
bin="$out/ipvsadm"
stamp="$out/.stamp"
sum="$(cat "$here"/standin/*.c "$here"/standin/*.h "$here"/standin/include/netlink/*.h "$here"/standin/include/netlink/genl/*.h "$0" | sha256sum | cut -d' ' -f1)"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
  echo "$bin"; exit 0
fi
obj="$out/obj"; rm -rf "$obj"; mkdir -p "$obj"
CFLAGS=(-O1 -g -w -I"$here/standin/include")
DEF=(-DVERSION=\"1.31\" -DSCHEDULERS=\""$(cat "$src/SCHEDULERS")"\" -DPE_LIST=\""$(cat "$src/PERSISTENCE_ENGINES")"\" -DHAVE_NET_IP_VS_H)
for f in ipvsadm config_stream dynamic_array; do
  gcc "${CFLAGS[@]}" "${DEF[@]}" -c -o "$obj/$f.o" "$src/$f.c"
done
for f in libipvs ip_vs_nl_policy; do
  gcc "${CFLAGS[@]}" -DLIBIPVS_USE_NL -DHAVE_NET_IP_VS_H -c -o "$obj/$f.o" "$src/libipvs/$f.c"
done
for f in nl kernel proc; do
  gcc "${CFLAGS[@]}" -Wall -I"$here/standin" -c -o "$obj/standin_$f.o" "$here/standin/$f.c"
done
gcc -o "$bin.new" "$obj"/*.o -Wl,--wrap=fopen -lpopt
mv "$bin.new" "$bin"
echo "$sum" > "$stamp"
echo "$bin"
