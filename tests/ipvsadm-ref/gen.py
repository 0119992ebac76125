#!/usr/bin/env python3
"""Generated ipvsadm command sequences for the differential test.

From a seed, a list of sequences: each has a starting table (ipvsadm -R
input that both tools must accept) and command lines, mostly realistic
(they name services and servers that exist), with a share of edge cases
and invalid values.  Stdlib only; the same seed gives the same lines.

    gen.py --sequences 20 --lines 30 --seed 1  > seqs.json
"""
import argparse
import json
import random

VIP4 = ["10.0.0.1", "10.0.0.2", "192.168.1.100", "172.16.0.5", "10.1.1.1", "203.0.113.7"]
VIP4_ODD = ["127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.5", "010.000.000.001", "10.1", "localhost",
            "1.2.3", "256.1.1.1", "web1", "10.0.0.1.5", ""]
VIP6 = ["2001:db8::1", "fd00::1", "2001:db8::2", "2001:db8:0:0:0:0:0:3"]
VIP6_ODD = ["::1", "::", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "2001:db8::zz", "2001:db8::1%lo"]
RS4 = ["192.168.0.10", "192.168.0.11", "192.168.0.12", "192.168.0.20", "10.0.1.5", "10.0.1.6", "198.51.100.9"]
RS4_ODD = ["224.0.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1", "192.168.0.100", "192.168.0.255",
           "172.25.254.100", "0.1.2.3", "010.000.000.001", "10.1", "localhost", "web1", "192.168.0", "300.1.1.1"]
RS6 = ["2001:db8::10", "2001:db8::11", "fd00::10", "fd00::11", "2001:db8:1::5"]
RS6_ODD = ["::", "ff02::1", "fe80::1", "::ffff:1.2.3.4", "::1", "::1.2.3.4", "2001:db8::10:80"]
PORTS = ["80", "443", "8080", "53", "25", "3306"]
PORTS_ODD = ["0", "65535", "65536", "-1", "http", "https", "domain", "smtp", "abc", "99999999999", "0x50", "080", ""]
SCHEDS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"]
SCHEDS_ODD = ["none", "foo", "RR", "twos", "averyveryverylongscheduler", "", "wrr "]
WEIGHTS = ["0", "1", "2", "5", "10", "100"]
WEIGHTS_ODD = ["65535", "65536", "-1", "abc", "1.5", "", "2147483648", "0x10"]
THRESH = ["0", "10", "100", "1000"]
THRESH_ODD = ["-1", "abc", "4294967296", "65536"]
PERSIST = [None, "0", "1", "60", "300", "3600"]
PERSIST_ODD = ["-1", "abc", "2678401", "86400", "2678400", "4294967296", ""]
NETMASK4 = ["255.255.255.0", "255.255.0.0", "255.255.255.255", "24", "32", "0.0.0.0", "64", "abc", "255.0.255.0"]
NETMASK6 = ["64", "128", "48", "0", "129", "1", "ffff::", "abc"]
SCHED_FLAGS = ["sh-fallback", "sh-port", "sh-fallback,sh-port", "mh-fallback", "mh-port", "flag-1", "flag-2",
               "flag-3", "bogus", "sh-port,bogus", ""]
FWMARKS = ["1", "2", "3", "100", "65536"]
FWMARKS_ODD = ["4294967295", "2147483648", "0", "-1", "abc", "4294967296", "0x10", ""]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.svcs = []  # (kind, value, v6) as given to ipvsadm

    def p(self, x):
        return self.r.random() < x

    def pick(self, common, odd, podd=0.12):
        return self.r.choice(odd if odd and self.p(podd) else common)

    # ---- services ----
    def new_svc(self, podd=0.1):
        r = self.r
        k = r.random()
        if k < 0.12:
            v6 = self.p(0.3)
            return ("-f", self.pick(FWMARKS, FWMARKS_ODD, podd), v6)
        v6 = self.p(0.25)
        flag = r.choice(["-t", "-t", "-t", "-u"]) if not self.p(0.03) else "--sctp-service"
        port = self.pick(PORTS, PORTS_ODD, podd)
        if v6:
            a = self.pick(VIP6, VIP6_ODD, podd)
            form = r.random()
            if form < 0.85:
                val = f"[{a}]:{port}" if port else f"[{a}]"
            elif form < 0.95:
                val = f"[{a}]"
            else:
                val = f"{a}:{port}"
        else:
            a = self.pick(VIP4, VIP4_ODD, podd)
            val = f"{a}:{port}" if (port or self.p(0.5)) else a
            if self.p(0.03):
                val = a
        return (flag, val, v6)

    def svc(self):
        if self.svcs and self.p(0.85):
            return self.r.choice(self.svcs)
        return self.new_svc()

    def svc_args(self, s):
        kind, val, v6 = s
        a = [kind, val]
        if kind == "-f" and v6:
            a.append("-6")
        return a

    def svc_opts(self, s):
        r = self.r
        a = []
        if self.p(0.8):
            a += [r.choice(["-s", "--scheduler"]), self.pick(SCHEDS, SCHEDS_ODD, 0.08)]
        if self.p(0.25):
            v = self.pick(PERSIST, PERSIST_ODD, 0.15)
            if v is None:
                a.append(r.choice(["-p", "--persistent"]))
            else:
                a += ["-p", v] if self.p(0.7) else [f"--persistent={v}"]
            if self.p(0.3):
                a += ["-M", r.choice(NETMASK6 if s[2] else NETMASK4)]
        elif self.p(0.04):
            a += ["-M", r.choice(NETMASK6 if s[2] else NETMASK4)]
        if self.p(0.12):
            a += ["-b", r.choice(SCHED_FLAGS)]
        if self.p(0.06):
            a += ["--pe", r.choice(["sip", "sip", "foo"])]
        if self.p(0.06):
            a.append(r.choice(["-o", "--ops"]))
        return a

    # ---- real servers ----
    def rs_addr(self, s):
        r = self.r
        v6 = s[2] if not self.p(0.05) else not s[2]
        port = self.pick(PORTS, PORTS_ODD, 0.1)
        if v6:
            a = self.pick(RS6, RS6_ODD, 0.12)
            if self.p(0.8):
                return f"[{a}]:{port}" if port else f"[{a}]"
            return f"[{a}]" if self.p(0.5) else a
        a = self.pick(RS4, RS4_ODD, 0.12)
        return f"{a}:{port}" if self.p(0.6) else a

    def rs_opts(self):
        r = self.r
        a = []
        if self.p(0.7):
            fwd = r.choice(["-m", "-g", "-i", "-m", "--masquerading", "--gatewaying", "--ipip"])
            a.append(fwd)
            if fwd in ("-i", "--ipip") and self.p(0.3):
                tt = r.choice(["ipip", "gue", "gre", "foo"])
                a += ["--tun-type", tt]
                if tt == "gue" and self.p(0.7):
                    a += ["--tun-port", r.choice(["6080", "0", "65536", "abc"])]
                if self.p(0.4):
                    a.append(r.choice(["--tun-nocsum", "--tun-csum", "--tun-remcsum"]))
        if self.p(0.6):
            a += [r.choice(["-w", "--weight"]), self.pick(WEIGHTS, WEIGHTS_ODD, 0.12)]
        if self.p(0.12):
            a += ["-x", self.pick(THRESH, THRESH_ODD, 0.15)]
        if self.p(0.1):
            a += ["-y", self.pick(THRESH, THRESH_ODD, 0.15)]
        return a

    def add_rs_line(self, s):
        return ["-a"] + self.svc_args(s) + ["-r", self.rs_addr(s)] + self.rs_opts()

    # ---- listing ----
    def list_line(self):
        r = self.r
        a = [r.choice(["-L", "-L", "-l", "--list"])]
        if self.p(0.85):
            a.append(r.choice(["-n", "--numeric"]))
        k = r.random()
        if k < 0.12:
            a.append("--stats")
        elif k < 0.22:
            a.append("--rate")
        elif k < 0.28:
            a.append("--thresholds")
        elif k < 0.32:
            a.append("--persistent-conn")
        elif k < 0.36:
            a.append("--tun-info")
        if self.p(0.15):
            a.append(r.choice(["--exact", "-X"]))
        if self.p(0.2):
            a.append(r.choice(["--nosort", "--sort"]))
        if self.p(0.2):
            a += self.svc_args(self.svc())
        if a[0] in ("-L", "-l") and len(a) > 1 and a[1] in ("-n", "--numeric") and self.p(0.4):
            a[0:2] = [a[0] + "n"]  # bundled short options: -Ln
        return a

    def line(self):
        r = self.r
        k = r.random()
        if k < 0.17:
            s = self.new_svc()
            self.svcs.append(s)
            return ["-A"] + self.svc_args(s) + self.svc_opts(s)
        if k < 0.23:
            s = self.svc()
            return ["-E"] + self.svc_args(s) + self.svc_opts(s)
        if k < 0.27:
            s = self.svc()
            return ["-D"] + self.svc_args(s)
        if k < 0.47:
            return self.add_rs_line(self.svc())
        if k < 0.54:
            s = self.svc()
            return ["-e"] + self.svc_args(s) + ["-r", self.rs_addr(s)] + self.rs_opts()
        if k < 0.58:
            s = self.svc()
            return ["-d"] + self.svc_args(s) + ["-r", self.rs_addr(s)]
        if k < 0.72:
            return self.list_line()
        if k < 0.76:
            return ["-S"] + (["-n"] if self.p(0.6) else [])
        if k < 0.78:
            return ["-Z"] + (self.svc_args(self.svc()) if self.p(0.5) else [])
        if k < 0.80:
            return ["-C"] if self.p(0.3) else ["-L", "-n"]
        if k < 0.83:
            return r.choice([["-L", "--timeout"], ["-L", "-n", "-c"], ["-L", "-c", "-n", "--persistent-conn"],
                             ["-L", "--daemon"], ["-l", "-c"]])
        if k < 0.85:
            vals = [r.choice(["900", "120", "300", "0", "60", "-1", "abc", "99999999"]) for _ in range(3)]
            return ["--set"] + vals[: r.choice([3, 3, 3, 2])]
        if k < 0.87:
            if self.p(0.5):
                return ["--start-daemon", r.choice(["master", "backup", "foo"]), "--mcast-interface",
                        r.choice(["eth0", "lo", "nosuchif0"])] + (["--syncid", r.choice(["1", "255", "256"])]
                                                                if self.p(0.5) else [])
            return ["--stop-daemon", r.choice(["master", "backup", "foo"])]
        if k < 0.93:
            return ["-R"]  # stdin filled in by the caller
        # odd command lines
        return r.choice([
            [], ["-h"], ["--help"], ["-v"], ["--version"], ["--foo"], ["-A"], ["-a"], ["-A", "-D"],
            ["-L", "-A"], ["-a", "-t", "10.0.0.1:80"], ["-A", "-t"], ["-L", "-n", "extra"],
            ["-A", "-t", "10.0.0.1:80", "-u", "10.0.0.1:80"], ["-L", "--stats", "--rate"],
            ["-D", "-t", "10.0.0.1:80", "-s", "rr"], ["-C", "-n"], ["-S", "-t", "10.0.0.1:80"],
            ["-e", "-t", "10.0.0.1:80"], ["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.10", "-m", "-g"],
            ["-Ln6"], ["-Lnt", "10.0.0.1:80"], ["-s", "rr"], ["-6", "-A", "-t", "10.0.0.1:80"],
            ["--add-service", "--tcp-service", "10.0.0.9:80", "--scheduler", "wlc"],
            ["-A", "-t", "10.0.0.9:80", "-s", "rr", "-s", "wrr"],
        ])

    def restore_input(self):
        lines = []
        for _ in range(self.r.randint(1, 6)):
            k = self.r.random()
            if k < 0.3:
                s = self.new_svc(podd=0.05)
                self.svcs.append(s)
                lines.append(["-A"] + self.svc_args(s) + self.svc_opts(s))
            elif k < 0.75:
                lines.append(self.add_rs_line(self.svc()))
            elif k < 0.8:
                lines.append(["-D"] + self.svc_args(self.svc()))
            elif k < 0.85:
                lines.append(self.r.choice([["-L", "-n"], ["-C"], ["-S"], ["--set", "900", "120", "300"]]))
            else:
                raw = self.r.choice(["# a comment", "", "   ", "-A -t 10.0.0.1:80 -s rr # trailing",
                                     "garbage", "-a -t \"10.0.0.1:80\" -r 192.168.0.10", "-R"])
                lines.append(raw)
        return "".join((" ".join(l) if isinstance(l, list) else l) + "\n" for l in lines)

    def start_table(self):
        """A valid table both tools must accept: services and servers."""
        r = self.r
        out, self.svcs = [], []
        used = set()
        for _ in range(r.randint(1, 4)):
            if self.p(0.15):
                s = ("-f", r.choice(FWMARKS[:4]), self.p(0.3))
            else:
                v6 = self.p(0.25)
                port = r.choice(PORTS)
                a = r.choice(VIP6 if v6 else VIP4)
                s = (r.choice(["-t", "-t", "-u"]), f"[{a}]:{port}" if v6 else f"{a}:{port}", v6)
            if s in used:
                continue
            used.add(s)
            self.svcs.append(s)
            opts = ["-s", r.choice(SCHEDS)]
            if self.p(0.25):
                opts += ["-p", r.choice(["60", "300", "3600"])]
            out.append(["-A"] + self.svc_args(s) + opts)
            rs_used = set()
            for _ in range(r.randint(0, 3)):
                a = r.choice(RS6 if s[2] else RS4)
                port = r.choice(PORTS)
                rs = f"[{a}]:{port}" if s[2] else f"{a}:{port}"
                # ipvsadm gives -g/-i servers the service's port: one per address
                if a in rs_used:
                    continue
                rs_used.add(a)
                out.append(["-a"] + self.svc_args(s) + ["-r", rs, r.choice(["-m", "-g", "-i"]),
                                                        "-w", r.choice(WEIGHTS[1:])])
        return "".join(" ".join(l) + "\n" for l in out)


def sequences(seed, n, lines):
    seqs = []
    for i in range(n):
        g = Gen(random.Random(f"{seed}/{i}"))
        start = g.start_table()
        body = []
        for _ in range(lines):
            args = g.line()
            stdin = g.restore_input() if args == ["-R"] else None
            body.append({"args": args, "stdin": stdin})
        seqs.append({"start": start, "lines": body})
    return seqs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--lines", type=int, default=30)
    ap.add_argument("--seed", default="1")
    a = ap.parse_args()
    json.dump(sequences(a.seed, a.sequences, a.lines), __import__("sys").stdout, indent=1)


if __name__ == "__main__":
    main()
