#!/bin/bash
# How the expected outputs in this directory were written: by hand, with
# ipvsadm 1.31's own printf formats (ipvsadm.c: list_all, print_title,
# print_service_entry, print_largenum, list_conn/print_conn, list_timeout),
# fed the values of the test table in ../adm_golden.rs. Number scaling
# (print_largenum: K/M/G/T above 99,999,999) is done by hand below, so the
# files do not come from rvsadm's own formatter. Run from this directory
# to re-derive them; the test compares rvsadm's output line by line.
set -euo pipefail

# ---- -L -n -------------------------------------------------------------
svc()  { printf '%s %s%s\n' "$1" "$2" "$3"; }                  # "%s %s" + flags
dest() { printf '  -> %-28s %-7s %-6d %-10u %-10u\n' "$@"; }   # plain dest line
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
printf 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n'
svc "$(printf '%-4s %s' TCP 172.16.0.10:8080)" wrr ""
dest 172.16.2.1:80 FullNat 5 0 0
dest 172.16.2.2:80 FullNat 5 3 7
svc "$(printf '%-4s %s' TCP 192.168.1.100:80)" rr ""
dest 192.168.1.200:80 Masq 1 5 0
dest 192.168.1.201:8080 Masq 2 0 1
svc "$(printf '%-4s %s' TCP 10.0.0.1:443)" sh " (sh-fallback,sh-port) persistent 360 mask 255.255.255.0"
dest 10.0.1.1:443 Route 3 10 2
dest 10.0.1.2:443 Tunnel 1 1 0
dest 10.0.1.3:443 Tunnel 1 0 0
svc "$(printf '%-4s %s' UDP 10.0.0.1:53)" wlc ""
dest 10.0.2.1:53 Masq 1 0 9
dest 10.0.2.2:53 Masq 0 0 0
svc "$(printf 'FWM  %d' 66)" rr " persistent 300"
dest 192.168.0.10:0 Route 1 0 0
dest 192.168.0.20:0 Route 1 0 0
} > table_Ln.txt

# ---- -L -n --stats -------------------------------------------------------
title() { printf '%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n' "Prot LocalAddress:Port" "$@"; }
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
title Conns InPkts OutPkts InBytes OutBytes
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' TCP 172.16.0.10:8080)" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 172.16.2.1:80 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 172.16.2.2:80 0 0 0 0 0
# 99999999 is the largest unscaled; 100000000000 bytes (G); 999999999 (K)
printf '%-33s%9d%9d%9d%8dG%8dK\n' "$(printf '%-4s %s' TCP 192.168.1.100:80)" 7 99999999 12 100 999999
printf '  -> %-28s%9d%9d%9d%8dG%8dK\n' 192.168.1.200:80 7 99999999 12 100 999999
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.1.201:8080 0 0 0 0 0
# conns 1234, inpkts 567890, outpkts 123456789 (K), inbytes 98765432100 (M), outbytes 123456789012345 (T)
printf '%-33s%9d%9d%8dK%8dM%8dT\n' "$(printf '%-4s %s' TCP 10.0.0.1:443)" 1234 567890 123456 98765 123
# conns 1000, inpkts 500000, outpkts 100000000 (K), inbytes 200, outbytes 300
printf '  -> %-28s%9d%9d%8dK%9d%9d\n' 10.0.1.1:443 1000 500000 100000 200 300
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.1.2:443 234 67890 23456789 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.1.3:443 0 0 0 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' UDP 10.0.0.1:53)" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.2.1:53 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.2.2:53 0 0 0 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "FWM  66" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.0.10:0 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.0.20:0 0 0 0 0 0
} > table_stats.txt

# ---- -L -n --stats --exact: every number as is, width max(9, len+1) ------
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
title Conns InPkts OutPkts InBytes OutBytes
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' TCP 172.16.0.10:8080)" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 172.16.2.1:80 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 172.16.2.2:80 0 0 0 0 0
printf '%-33s%9d%9d%9d%13d%10d\n' "$(printf '%-4s %s' TCP 192.168.1.100:80)" 7 99999999 12 100000000000 999999999
printf '  -> %-28s%9d%9d%9d%13d%10d\n' 192.168.1.200:80 7 99999999 12 100000000000 999999999
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.1.201:8080 0 0 0 0 0
printf '%-33s%9d%9d%10d%12d%16d\n' "$(printf '%-4s %s' TCP 10.0.0.1:443)" 1234 567890 123456789 98765432100 123456789012345
printf '  -> %-28s%9d%9d%10d%9d%9d\n' 10.0.1.1:443 1000 500000 100000000 200 300
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.1.2:443 234 67890 23456789 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.1.3:443 0 0 0 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' UDP 10.0.0.1:53)" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.2.1:53 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 10.0.2.2:53 0 0 0 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "FWM  66" 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.0.10:0 0 0 0 0 0
printf '  -> %-28s%9d%9d%9d%9d%9d\n' 192.168.0.20:0 0 0 0 0 0
} > table_stats_exact.txt

# ---- -L -n --rate ---------------------------------------------------------
# Service lines: all five through print_largenum. Real-server lines:
# "  -> %-28s %8llu %8llu %8llu" and print_largenum only for the bps.
drate() { printf '  -> %-28s %8d %8d %8d' "$1" "$2" "$3" "$4"; }
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
title CPS InPPS OutPPS InBPS OutBPS
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' TCP 172.16.0.10:8080)" 0 0 0 0 0
drate 172.16.2.1:80 0 0 0; printf '%9d%9d\n' 0 0
drate 172.16.2.2:80 0 0 0; printf '%9d%9d\n' 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' TCP 192.168.1.100:80)" 0 0 0 0 0
drate 192.168.1.200:80 0 0 0; printf '%9d%9d\n' 0 0
drate 192.168.1.201:8080 0 0 0; printf '%9d%9d\n' 0 0
# cps 12, inpps 3456, outpps 789, inbps 123456789 (K), outbps 4567
printf '%-33s%9d%9d%9d%8dK%9d\n' "$(printf '%-4s %s' TCP 10.0.0.1:443)" 12 3456 789 123456 4567
# cps 10, inpps 3000, outpps 700, inbps 100000000 (K), outbps 4000
drate 10.0.1.1:443 10 3000 700; printf '%8dK%9d\n' 100000 4000
# cps/pps of a real server are never scaled: 123456789 stays
drate 10.0.1.2:443 2 123456789 56; printf '%9d%9d\n' 23456789 567
drate 10.0.1.3:443 0 0 0; printf '%9d%9d\n' 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "$(printf '%-4s %s' UDP 10.0.0.1:53)" 0 0 0 0 0
drate 10.0.2.1:53 0 0 0; printf '%9d%9d\n' 0 0
drate 10.0.2.2:53 0 0 0; printf '%9d%9d\n' 0 0
printf '%-33s%9d%9d%9d%9d%9d\n' "FWM  66" 0 0 0 0 0
drate 192.168.0.10:0 0 0 0; printf '%9d%9d\n' 0 0
drate 192.168.0.20:0 0 0 0; printf '%9d%9d\n' 0 0
} > table_rate.txt

# ---- -L -n --thresholds / --persistent-conn (service lines as in -L) -----
thr() { printf '  -> %-28s %-10u %-10u %-10u %-10u\n' "$@"; }
pc()  { printf '  -> %-28s %-9u %-11u %-10u %-10u\n' "$@"; }
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
printf '%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n' "Prot LocalAddress:Port" Uthreshold Lthreshold ActiveConn InActConn
printf '%-4s %s %s\n' TCP 172.16.0.10:8080 wrr
thr 172.16.2.1:80 0 0 0 0
thr 172.16.2.2:80 0 0 3 7
printf '%-4s %s %s\n' TCP 192.168.1.100:80 rr
thr 192.168.1.200:80 0 0 5 0
thr 192.168.1.201:8080 0 0 0 1
printf '%-4s %s %s%s\n' TCP 10.0.0.1:443 sh " (sh-fallback,sh-port) persistent 360 mask 255.255.255.0"
thr 10.0.1.1:443 0 0 10 2
thr 10.0.1.2:443 0 0 1 0
thr 10.0.1.3:443 0 0 0 0
printf '%-4s %s %s\n' UDP 10.0.0.1:53 wlc
thr 10.0.2.1:53 100 10 0 9
thr 10.0.2.2:53 0 0 0 0
printf 'FWM  %d %s persistent %u\n' 66 rr 300
thr 192.168.0.10:0 0 0 0 0
thr 192.168.0.20:0 0 0 0 0
} > table_thresholds.txt
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
printf '%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n' "Prot LocalAddress:Port" Weight PersistConn ActiveConn InActConn
printf '%-4s %s %s\n' TCP 172.16.0.10:8080 wrr
pc 172.16.2.1:80 5 0 0 0
pc 172.16.2.2:80 5 0 3 7
printf '%-4s %s %s\n' TCP 192.168.1.100:80 rr
pc 192.168.1.200:80 1 0 5 0
pc 192.168.1.201:8080 2 0 0 1
printf '%-4s %s %s%s\n' TCP 10.0.0.1:443 sh " (sh-fallback,sh-port) persistent 360 mask 255.255.255.0"
pc 10.0.1.1:443 3 4 10 2
pc 10.0.1.2:443 1 0 1 0
pc 10.0.1.3:443 1 0 0 0
printf '%-4s %s %s\n' UDP 10.0.0.1:53 wlc
pc 10.0.2.1:53 1 0 0 9
pc 10.0.2.2:53 0 0 0 0
printf 'FWM  %d %s persistent %u\n' 66 rr 300
pc 192.168.0.10:0 1 0 0 0
pc 192.168.0.20:0 1 0 0 0
} > table_persistent_conn.txt

# ---- -L -n -t 192.168.1.100:80 (one service: no version header) ----------
{
printf 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n'
svc "$(printf '%-4s %s' TCP 192.168.1.100:80)" rr ""
dest 192.168.1.200:80 Masq 1 5 0
dest 192.168.1.201:8080 Masq 2 0 1
} > service_Ln.txt

# ---- -L -n --tun-info -----------------------------------------------------
ti() { printf '  -> %-28s %-7s %-13s %-6d %-10u %-10u\n' "$@"; }
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 4096
printf 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n'
printf '%-4s %s %s\n' TCP 172.16.0.10:8080 wrr
ti 172.16.2.1:80 FullNat n/a 5 0 0
ti 172.16.2.2:80 FullNat n/a 5 3 7
printf '%-4s %s %s\n' TCP 192.168.1.100:80 rr
ti 192.168.1.200:80 Masq n/a 1 5 0
ti 192.168.1.201:8080 Masq n/a 2 0 1
printf '%-4s %s %s%s\n' TCP 10.0.0.1:443 sh " (sh-fallback,sh-port) persistent 360 mask 255.255.255.0"
ti 10.0.1.1:443 Route n/a 3 10 2
ti 10.0.1.2:443 Tunnel ipip 1 1 0
ti 10.0.1.3:443 Tunnel gue:6080:-c 1 0 0
printf '%-4s %s %s\n' UDP 10.0.0.1:53 wlc
ti 10.0.2.1:53 Masq n/a 1 0 9
ti 10.0.2.2:53 Masq n/a 0 0 0
printf 'FWM  %d %s persistent %u\n' 66 rr 300
ti 192.168.0.10:0 Route n/a 1 0 0
ti 192.168.0.20:0 Route n/a 1 0 0
} > table_tun_info.txt

# ---- -S -n --------------------------------------------------------------
# "-A %s -s %s" [" -p %u" [" -M %s"]] [" -b flags"], "-a %s -r %s %s -w %d"
# [tunnel options]; rvs extensions appended: --laddr, --match. No -x/-y:
# ipvsadm 1.31 never writes thresholds (10.0.2.1 has 100/10).
cat > table_save.txt <<'END'
-A -t 172.16.0.10:8080 -s wrr --laddr 172.16.1.1 --laddr 172.16.1.2
-a -t 172.16.0.10:8080 -r 172.16.2.1:80 --fullnat -w 5
-a -t 172.16.0.10:8080 -r 172.16.2.2:80 --fullnat -w 5
-A -t 192.168.1.100:80 -s rr
-a -t 192.168.1.100:80 -r 192.168.1.200:80 -m -w 1
-a -t 192.168.1.100:80 -r 192.168.1.201:8080 -m -w 2
-A -t 10.0.0.1:443 -s sh -p 360 -M 255.255.255.0 -b sh-fallback,sh-port
-a -t 10.0.0.1:443 -r 10.0.1.1:443 -g -w 3
-a -t 10.0.0.1:443 -r 10.0.1.2:443 -i -w 1 --tun-type ipip
-a -t 10.0.0.1:443 -r 10.0.1.3:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-A -u 10.0.0.1:53 -s wlc
-a -u 10.0.0.1:53 -r 10.0.2.1:53 -m -w 1
-a -u 10.0.0.1:53 -r 10.0.2.2:53 -m -w 0
-A -f 66 -s rr -p 300 --match tcp:192.168.0.200:80,443
-a -f 66 -r 192.168.0.10:0 -g -w 1
-a -f 66 -r 192.168.0.20:0 -g -w 1
END

# ---- --timeout ------------------------------------------------------------
printf 'Timeout (tcp tcpfin udp): %d %d %d\n' 900 120 300 > timeout.txt

# ---- -L -n -c -------------------------------------------------------------
conn() { printf '%-3s %-6s %-11s %-18s %-18s %s\n' "$@"; }
{
printf 'IPVS connection entries\n'
printf 'pro expire %-11s %-18s %-18s %s\n' state source virtual destination
conn TCP 14:59 ESTABLISHED 203.0.113.5:51234 192.168.1.100:80 192.168.1.200:80
conn TCP 01:05 FIN_WAIT 203.0.113.6:40001 192.168.1.100:80 192.168.1.201:8080
conn UDP 04:40 UDP 198.51.100.7:40000 10.0.0.1:53 10.0.2.1:53
conn IP 05:00 NONE 203.0.113.0:0 10.0.0.1:443 10.0.1.1:443
conn TCP 00:07 SYN_RECV '[2001:db8::5]:40000' '[2001:db8::1]:80' '[2001:db8::10]:80'
conn TCP 150:00 ESTABLISHED 203.0.113.9:1024 10.0.0.1:443 10.0.1.1:443
} > conns.txt
{
printf 'IPVS connection entries\n'
printf 'pro expire %-11s %-18s %-18s %-18s %-16s %s\n' state source virtual destination "pe name" pe_data
conn TCP 14:59 ESTABLISHED 203.0.113.5:51234 192.168.1.100:80 192.168.1.200:80
} > conns_pc.txt

# ---- a file as the real `ipvsadm -S -n` writes it, and its -L -n ----------
cat > ipvsadm_saved.rules <<'END'
-A -t 192.168.1.100:80 -s rr
-a -t 192.168.1.100:80 -r 192.168.1.200:80 -m -w 1
-a -t 192.168.1.100:80 -r 192.168.1.201:80 -m -w 1
-A -t 192.168.1.101:443 -s sh -p 300 -M 255.255.255.0 -b sh-port
-a -t 192.168.1.101:443 -r 192.168.1.210:443 -g -w 1
-a -t 192.168.1.101:443 -r 192.168.1.211:443 -i -w 1 --tun-type ipip
-A -u 192.168.1.100:53 -s wlc
-a -u 192.168.1.100:53 -r 192.168.1.220:53 -m -w 1
-A -t [2001:db8::1]:80 -s wrr
-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 -m -w 2
-A -f 66 -s rr
-a -f 66 -r 192.168.0.10:0 -g -w 1
-a -f 66 -r 192.168.0.20:0 -g -w 1
END
{
printf 'IP Virtual Server version 1.2.1 (size=%d)\n' 65536
printf 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n'
printf '%-4s %s %s\n' TCP 192.168.1.100:80 rr
dest 192.168.1.200:80 Masq 1 0 0
dest 192.168.1.201:80 Masq 1 0 0
printf '%-4s %s %s (%s) persistent %u mask %s\n' TCP 192.168.1.101:443 sh sh-port 300 255.255.255.0
dest 192.168.1.210:443 Route 1 0 0
dest 192.168.1.211:443 Tunnel 1 0 0
printf '%-4s %s %s\n' UDP 192.168.1.100:53 wlc
dest 192.168.1.220:53 Masq 1 0 0
printf '%-4s %s %s\n' TCP '[2001:db8::1]:80' wrr
dest '[2001:db8::10]:80' Masq 2 0 0
printf 'FWM  %d %s\n' 66 rr
dest 192.168.0.10:0 Route 1 0 0
dest 192.168.0.20:0 Route 1 0 0
} > ipvsadm_saved_Ln.txt
