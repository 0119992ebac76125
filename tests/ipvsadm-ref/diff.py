#!/usr/bin/env python3
"""Runs generated command sequences through ipvsadm 1.31 (over the
in-memory IPVS stand-in) and rvsadm (over a running rvsd) and compares,
after every line, stdout, stderr, exit status and the resulting table
(`-S -n` of each side).  Stdlib only.  Run inside a network namespace
with no route out (scripts/ipvsadm-diff.sh does): listings without -n
and host names in arguments go to the resolver.

Each sequence starts both sides from the same table (ipvsadm: a fresh
stand-in state file; rvsadm: -C, --set 900 120 300, then -R of the
starting table).  When the tables diverge after a line, rvsadm's is
reset to ipvsadm's (-C, -R of ipvsadm's -S -n) so that later lines are
compared from the same state again.

rvsadm's output has "rvsadm" replaced by "ipvsadm" before comparing
(ipvsadm prints its argv[0] in some messages).
"""
import argparse
import collections
import difflib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

COMMANDS = {
    "-A": "-A", "--add-service": "-A", "-E": "-E", "--edit-service": "-E", "-D": "-D",
    "--delete-service": "-D", "-C": "-C", "--clear": "-C", "-L": "-L", "-l": "-L", "--list": "-L",
    "-Z": "-Z", "--zero": "-Z", "-a": "-a", "--add-server": "-a", "-e": "-e", "--edit-server": "-e",
    "-d": "-d", "--delete-server": "-d", "--set": "--set", "-h": "-h", "--help": "-h", "-v": "-v",
    "--version": "-v", "-R": "-R", "--restore": "-R", "-S": "-S", "--save": "-S",
    "--start-daemon": "--start-daemon", "--stop-daemon": "--stop-daemon",
}


def command_of(args):
    for a in args:
        if a in COMMANDS:
            return COMMANDS[a]
        if a.startswith("-") and not a.startswith("--") and len(a) > 2 and ("-" + a[1]) in COMMANDS:
            return COMMANDS["-" + a[1]]
    return "(none)" if not args else "(other)"


class Tool:
    def __init__(self, name, path, env):
        self.name, self.path, self.env = name, path, env

    def run(self, args, stdin=None):
        try:
            p = subprocess.run([self.name] + args, executable=self.path, input=(stdin or "").encode(),
                               capture_output=True, env=self.env, timeout=30)
        except subprocess.TimeoutExpired:
            return {"rc": "timeout", "out": "", "err": ""}
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if self.name != "ipvsadm":
            out = out.replace(self.name, "ipvsadm")
            err = err.replace(self.name, "ipvsadm")
        return {"rc": p.returncode, "out": out, "err": err}


def first_line(s):
    for l in s.splitlines():
        if l.strip():
            return l.strip()
    return ""


def short(s, n=400):
    return s if len(s) <= n else s[:n] + "...[%d more]" % (len(s) - n)


def udiff(a, b, n=12):
    d = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "ipvsadm", "rvsadm", lineterm="", n=0))
    return "\n".join(d[2:2 + n]) + ("\n..." if len(d) > 2 + n else "")


class Report:
    def __init__(self):
        self.lines = 0
        self.same_all = 0
        self.same_nostderr = 0
        self.aspect = collections.Counter()
        self.cats = collections.OrderedDict()
        self.resyncs = 0
        self.aborted = 0
        self.notes = collections.Counter()

    def add(self, cat, example, keep=3):
        c = self.cats.setdefault(cat, {"count": 0, "examples": []})
        c["count"] += 1
        if len(c["examples"]) < keep:
            c["examples"].append(example)


NUMERIC = ("-n", "--numeric")


def compare_line(rep, args, stdin, a, b, ta, tb):
    cmd = command_of(args)
    if cmd in ("-L", "-S", "(none)") and not any(x in NUMERIC or (x.startswith("-") and not x.startswith("--")
                                                 and "n" in x[1:]) for x in args):
        cmd += " (no -n)"
    d_out = a["out"] != b["out"]
    d_err = a["err"] != b["err"]
    d_rc = a["rc"] != b["rc"]
    # The table as a set of -S lines: the order of -S is compared where
    # it is the line's own output (-S, -L), not after every line.
    d_tab = sorted(ta.splitlines()) != sorted(tb.splitlines())
    rep.lines += 1
    if not (d_out or d_err or d_rc or d_tab):
        rep.same_all += 1
        rep.same_nostderr += 1
        return False
    if not (d_out or d_rc or d_tab):
        rep.same_nostderr += 1
    parts = []
    if d_rc or d_err:
        ia = first_line(a["err"])
        if d_rc:
            parts.append(f"exit {a['rc']} vs {b['rc']}")
        if d_err:
            rep.aspect["stderr"] += 1
            parts.append(f'stderr "{ia}"' if ia else f'stderr (ipvsadm silent) "{first_line(b["err"])[:60]}"')
        if d_rc:
            rep.aspect["exit"] += 1
    if d_out:
        rep.aspect["stdout"] += 1
        if sorted(a["out"].splitlines()) == sorted(b["out"].splitlines()):
            parts.append("stdout order")
        elif not b["out"]:
            parts.append("stdout (rvsadm none)")
        elif not a["out"]:
            parts.append("stdout (ipvsadm none)")
        else:
            parts.append("stdout content")
    if d_tab:
        rep.aspect["table"] += 1
        parts.append("table (restore)" if cmd == "-R" else "table")
    ex = {"args": args, "ipvsadm": {"rc": a["rc"], "err": short(a["err"])},
          "rvsadm": {"rc": b["rc"], "err": short(b["err"])}}
    if stdin is not None:
        ex["stdin"] = short(stdin)
    if d_out:
        ex["stdout_diff"] = udiff(a["out"], b["out"])
    if d_tab:
        ex["table_diff"] = udiff(ta, tb)
    rep.add(f"{cmd} | " + " + ".join(parts), ex)
    return d_tab


def same_table(a, b):
    return sorted(a.splitlines()) == sorted(b.splitlines())


def reset_ipvsadm(ipv, state, table):
    for f in (state, state + ".tmp"):
        if os.path.exists(f):
            os.unlink(f)
    return ipv.run(["-R"], table)


def resync(rep, ipv, rvs, state, ta, tb):
    """Bring both sides to one table again after they diverged: rvsadm
    takes ipvsadm's table; if rvsadm cannot hold it (a feature it
    refuses), both take rvsadm's previous table instead."""
    rep.resyncs += 1
    rvs.run(["-C"])
    r = rvs.run(["-R"], ta)
    if r["rc"] == 0 and same_table(rvs.run(["-S", "-n"])["out"], ta):
        # ipvsadm's side too, so that both inserted in the same order
        # (--nosort lists newest first).
        reset_ipvsadm(ipv, state, ta)
        return True
    why = first_line(r["err"]) if r["rc"] else "restored, but -S -n differs"
    rep.notes[f"rvsadm cannot hold ipvsadm's table ({why}); both reset to rvsadm's"] += 1
    rvs.run(["-C"])
    r1 = rvs.run(["-R"], tb)
    r2 = reset_ipvsadm(ipv, state, tb)
    if r1["rc"] == 0 and r2["rc"] == 0 and same_table(ipv.run(["-S", "-n"])["out"], rvs.run(["-S", "-n"])["out"]):
        return True
    why = first_line(r2["err"]) if r2["rc"] else "restored, but -S -n differs"
    rep.notes[f"resync failed ({why}); rest of sequence skipped"] += 1
    return False


# Facts about ipvsadm 1.31 on a real IPVS that the reference must show
# before its answers are trusted: (args, stdin, exit, stdout, stderr),
# run in order from an empty table.
SANITY = [
    (["-A", "-t", "10.0.0.1:80", "-s", "rr"], None, 0, "", ""),
    (["-A", "-t", "10.0.0.1:80", "-s", "rr"], None, 255, "", "Service already exists\n"),
    (["-A", "-t", "10.0.0.2:80", "-s", "nosuch"], None, 255, "", "Scheduler or persistence engine not found\n"),
    (["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.10", "-m"], None, 0, "", ""),
    (["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.11", "-m", "-w", "3"], None, 0, "", ""),
    (["-a", "-t", "10.0.0.1:80", "-r", "224.0.0.1", "-m"], None, 255, "",
     "Invalid operation.  Possibly wrong module version, address not unicast, ...\n"),
    (["-a", "-t", "10.0.0.1:80", "-r", "192.168.0.12", "-x", "0", "-y", "5"], None, 255, "",
     "Numerical result out of range\n"),
    (["-e", "-t", "10.0.0.1:80", "-r", "192.168.0.99"], None, 255, "", "No such destination\n"),
    (["-a", "-t", "10.9.9.9:80", "-r", "192.168.0.99"], None, 255, "", "Service not defined\n"),
    (["-D", "-t", "10.9.9.9:80"], None, 255, "", "No such service\n"),
    (["-A", "-f", "2"], None, 0, "", ""),
    (["-A", "-f", "2", "-6"], None, 0, "", ""),
    (["-A", "-t", "192.168.1.100:80", "-p"], None, 0, "", ""),
    # fwmark services after address ones, 192.168.1.100 before 10.0.0.1
    # (ipvsadm's comparison wraps), bare -p is 360 s.
    (["-S", "-n"], None, 0, "-A -t 192.168.1.100:80 -s wlc -p 360\n-A -t 10.0.0.1:80 -s rr\n"
     "-a -t 10.0.0.1:80 -r 192.168.0.10:80 -m -w 1\n-a -t 10.0.0.1:80 -r 192.168.0.11:80 -m -w 3\n"
     "-A -f 2 -s wlc\n-A -f 2 -6 -s wlc\n", ""),
    (["-L", "-n", "--nosort", "-t", "10.0.0.1:80"], None, 0,
     "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
     "TCP  10.0.0.1:80 rr\n  -> 192.168.0.11:80              Masq    3      0          0         \n"
     "  -> 192.168.0.10:80              Masq    1      0          0         \n", ""),
    (["-L", "--timeout"], None, 0, "Timeout (tcp tcpfin udp): 900 120 300\n", ""),
]


def sanity(ipv, state):
    reset_ipvsadm(ipv, state, "")
    for args, stdin, rc, out, err in SANITY:
        r = ipv.run(args, stdin)
        if (r["rc"], r["out"], r["err"]) != (rc, out, err):
            print(f"harness: the ipvsadm reference fails its sanity check on {' '.join(args)}:\n"
                  f"  want rc={rc} out={out!r} err={err!r}\n  got  rc={r['rc']} out={r['out']!r} err={r['err']!r}",
                  file=sys.stderr)
            sys.exit(2)


def main():
    try:
        run()
    except SystemExit:
        raise
    except BaseException as e:  # a harness failure, not a difference
        import traceback
        traceback.print_exc()
        print(f"harness: {e!r}", file=sys.stderr)
        sys.exit(2)


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ipvsadm", required=True)
    ap.add_argument("--rvsadm", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--state", required=True, help="stand-in state file")
    ap.add_argument("--local", default="", help="the director's addresses, for the stand-in")
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--lines", type=int, default=30)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--report", help="write the full report (JSON) here")
    ap.add_argument("--min-match", type=float, help="exit 1 when fewer lines match fully (percent)")
    o = ap.parse_args()

    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM")}
    base.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    # IPVS_STANDIN_* knobs of the model (standin/kernel.c) pass through.
    knobs = {k: v for k, v in os.environ.items() if k.startswith("IPVS_STANDIN_")}
    ienv = dict(base, **knobs, IPVS_STANDIN_STATE=o.state, IPVS_STANDIN_LOCAL=o.local)
    renv = dict(base, RVSADM_SOCKET=o.socket)
    ipv = Tool("ipvsadm", o.ipvsadm, ienv)
    rvs = Tool("rvsadm", o.rvsadm, renv)
    sanity(ipv, o.state)
    rep = Report()
    t0 = time.time()
    started = 0

    for si, seq in enumerate(gen.sequences(o.seed, o.sequences, o.lines)):
        # Reset both sides to the starting table.
        r = reset_ipvsadm(ipv, o.state, seq["start"])
        if r["rc"] != 0:
            print(f"harness: ipvsadm refused starting table {si}: {r['err']}\n{seq['start']}", file=sys.stderr)
            sys.exit(2)
        rvs.run(["-C"])
        rvs.run(["--set", "900", "120", "300"])
        for st in ("master", "backup"):
            rvs.run(["--stop-daemon", st])
        r = rvs.run(["-R"], seq["start"])
        if r["rc"] != 0:
            rep.notes["starting table refused by rvsadm"] += 1
            rep.add("(start) | rvsadm -R refused the starting table",
                    {"args": ["-R"], "stdin": short(seq["start"]), "rvsadm": {"rc": r["rc"], "err": short(r["err"])}})
            rep.aborted += 1
            continue
        ta, tb = ipv.run(["-S", "-n"])["out"], rvs.run(["-S", "-n"])["out"]
        if not same_table(ta, tb):
            rep.add("(start) | -S -n of the same starting table differs",
                    {"args": ["-S", "-n"], "stdin": short(seq["start"]), "table_diff": udiff(ta, tb)})
        started += 1
        for ln in seq["lines"]:
            a = ipv.run(ln["args"], ln["stdin"])
            b = rvs.run(ln["args"], ln["stdin"])
            for name, x in (("ipvsadm", a), ("rvsadm", b)):
                if x["rc"] == "timeout" or x["rc"] < 0:
                    rep.notes[f"{name} crashed or hung (rc {x['rc']}) on: {' '.join(ln['args'])}"] += 1
            ta = ipv.run(["-S", "-n"])["out"]
            tb = rvs.run(["-S", "-n"])["out"]
            if compare_line(rep, ln["args"], ln["stdin"], a, b, ta, tb):
                if not resync(rep, ipv, rvs, o.state, ta, tb):
                    rep.aborted += 1
                    break

    if started == 0:
        print("harness: no sequence could start (rvsadm refused every starting table)", file=sys.stderr)
        sys.exit(2)
    dt = time.time() - t0
    pct = lambda x: 100.0 * x / rep.lines if rep.lines else 0.0
    print(f"ipvsadm-diff: seed {o.seed}, {o.sequences} sequences x {o.lines} lines, {dt:.1f}s")
    print(f"  lines compared:                      {rep.lines}")
    print(f"  identical (stdout+stderr+exit+table): {rep.same_all} ({pct(rep.same_all):.1f}%)")
    print(f"  identical ignoring stderr:            {rep.same_nostderr} ({pct(rep.same_nostderr):.1f}%)")
    print("  lines differing in: " + ", ".join(f"{k} {v}" for k, v in rep.aspect.most_common()))
    print(f"  rvsadm table reset to ipvsadm's after a divergence: {rep.resyncs}; sequences cut short: {rep.aborted}")
    for k, v in rep.notes.most_common():
        print(f"  note [{v}]: {k}")
    cats = sorted(rep.cats.items(), key=lambda kv: -kv[1]["count"])
    print(f"\nTop {min(o.top, len(cats))} of {len(cats)} difference categories:")
    for i, (k, c) in enumerate(cats[: o.top], 1):
        ex = c["examples"][0]
        print(f"\n{i:2}. [{c['count']}] {k}")
        print(f"    $ ipvsadm {' '.join(ex['args'])}")
        if "stdin" in ex:
            print("    stdin: " + ex["stdin"].rstrip().replace("\n", "\n           "))
        for side in ("ipvsadm", "rvsadm"):
            if side in ex:
                e = ex[side]
                err = e.get("err", "").rstrip().replace("\n", "\n" + " " * 18)
                print(f"    {side:8} rc={e.get('rc')!s:4} {err}")
        for key in ("stdout_diff", "table_diff"):
            if ex.get(key):
                print(f"    {key}:\n      " + ex[key].replace("\n", "\n      "))
    if o.report:
        with open(o.report, "w") as f:
            json.dump({"seed": o.seed, "sequences": o.sequences, "lines_per_sequence": o.lines,
                       "lines": rep.lines, "identical": rep.same_all, "identical_ignoring_stderr": rep.same_nostderr,
                       "aspects": rep.aspect, "resyncs": rep.resyncs, "aborted": rep.aborted,
                       "notes": rep.notes, "categories": dict(cats)}, f, indent=1)
        print(f"\nfull report: {o.report}")
    if o.min_match is not None and pct(rep.same_all) < o.min_match:
        print(f"ipvsadm-diff: {pct(rep.same_all):.1f}% < --min-match {o.min_match}%", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
