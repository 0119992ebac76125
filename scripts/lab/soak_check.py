#!/usr/bin/python3
"""The soak's verdict for one configuration, from strict counters.

  soak_check.py --start START.json --live LIVE.json --log rvsd.log --inject A.json [B.json] --curl CURL.json --arp N --workers W

START.json and LIVE.json are `rvsadm --workers --json`, settled, before
and after the soak (the accounting covers the window between); the log
holds rvsd's "final counters" block. A counter that is missing or not a
count is a failure, never a zero. Every frame must be accounted for:

    rx = tx + named drops - generated + consumed

where generated are the frames rvsd originates (ARP requests, ICMP
errors) and consumed the well-formed ARP replies (and other non-request
ARP) it learns from without answering, counted by tcpdump on the peers'
side of both ports (ARG --arp). Prints one JSON report; exits 1 on failure.
"""
import argparse
import json
import re
import sys

WORKER = ["rx_pkts", "tx_pkts", "redirect_in", "redirect_out", "arp_replies", "arp_requests", "arp_learned", "icmp_echo",
          "icmp_err_sent", "icmp_err_suppressed", "frags_out", "conns_created", "conns", "drops"]


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def count(obj, key, what):
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        fail(f"{what}: {key!r} missing or not a count: {v!r}")
    return v


def live_counters(text):
    v = json.loads(text)
    sums, drops = {}, {}
    workers = v.get("workers")
    if not isinstance(workers, list) or not workers:
        fail("live: no workers")
    for w in workers:
        for k in WORKER:
            if k == "drops":
                continue
            sums[k] = sums.get(k, 0) + count(w, k, f"worker {w.get('id')}")
        d = w.get("drops")
        if not isinstance(d, dict):
            fail("live: drops not an object")
        for name, n in d.items():
            drops[name] = drops.get(name, 0) + count(d, name, "drops")
    mp = v.get("mempool") or fail("live: no mempool")
    ports = v.get("ports")
    if not isinstance(ports, list) or not ports:
        fail("live: no ports")
    port = {p["name"]: {k: count(p, k, p["name"]) for k in ("ipackets", "opackets", "imissed", "ierrors", "rx_nombuf")}
            for p in ports}
    return sums, drops, {k: count(mp, k, "mempool") for k in ("free", "baseline", "size")}, port


def final_counters(log):
    if "rvsd: final counters\n" not in log:
        fail("no final counters block in the log")
    tail = log.split("rvsd: final counters\n", 1)[1]
    sums, drops, mempool, workers = {}, {}, None, 0
    for line in tail.splitlines():
        l = line.strip()
        m = re.fullmatch(r"worker (\d+): (.*)", l)
        if m:
            kv = m.group(2).split()
            if len(kv) % 2 or int(m.group(1)) != workers:
                fail(f"final: bad worker line {l!r}")
            d = dict(zip(kv[::2], kv[1::2]))
            for k in ("rx", "tx", "drops", "arp_requests", "icmp_err_sent", "frags_out"):
                if k not in d or not d[k].isdigit():
                    fail(f"final: {k} missing or not a count in {l!r}")
                sums[k] = sums.get(k, 0) + int(d[k])
            workers += 1
            continue
        m = re.fullmatch(r"drop (\w+): (\d+)", l)
        if m:
            drops[m.group(1)] = drops.get(m.group(1), 0) + int(m.group(2))
            continue
        m = re.fullmatch(r"mempool: free (\d+) baseline (\d+) size (\d+)", l)
        if m:
            mempool = tuple(map(int, m.groups()))
            break
    if not workers:
        fail("final: no worker lines")
    if mempool is None:
        fail("final: no mempool line")
    if sum(drops.values()) != sums["drops"]:
        fail(f"final: drop lines add up to {sum(drops.values())}, workers say {sums['drops']}")
    return sums, drops, mempool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", required=True)
    ap.add_argument("--live", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--inject", nargs="+", required=True)
    ap.add_argument("--curl", required=True)
    ap.add_argument("--arp", type=int, required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--alive", required=True, help="'yes' if rvsd stayed alive throughout")
    a = ap.parse_args()
    errors = []
    sums, drops, mp, ports = live_counters(open(a.live).read())
    s0, d0, _, _ = live_counters(open(a.start).read())
    delta = {k: sums[k] - s0[k] for k in sums}
    ddrops = {k: v - d0.get(k, 0) for k, v in drops.items() if v - d0.get(k, 0)}
    fsums, fdrops, fmp = final_counters(open(a.log, errors="replace").read())
    inj = [json.load(open(f)) for f in a.inject]
    curl = json.load(open(a.curl))

    if a.alive != "yes":
        errors.append("rvsd died during the soak")
    if "panicked" in open(a.log, errors="replace").read():
        errors.append("a panic in rvsd's log")
    if curl["failures"]:
        errors.append(f"{curl['failures']} curl requests failed")
    if curl["requests"] == 0:
        errors.append("no curl requests ran")
    if mp["free"] != mp["baseline"]:
        errors.append(f"live mempool free {mp['free']} != baseline {mp['baseline']}")
    if fmp[0] != fmp[1]:
        errors.append(f"final mempool free {fmp[0]} != baseline {fmp[1]}")
    total_drops = sum(drops.values())
    if total_drops != sum(fdrops.values()) or sums["rx_pkts"] != fsums["rx"] or sums["tx_pkts"] != fsums["tx"]:
        errors.append("final counters differ from the settled live counters (traffic after the soak?)")
    rx_ports = sum(p["ipackets"] for p in ports.values())
    if rx_ports != sums["rx_pkts"]:
        errors.append(f"ports received {rx_ports}, workers counted {sums['rx_pkts']}")
    icmp_gen = delta["icmp_err_sent"]
    if delta["frags_out"]:
        # One packet in, k fragments out: the counters do not say how many
        # packets were fragmented, so the frames cannot be balanced.
        errors.append(f"{sums['frags_out']} fragments sent: the soak's frames should all fit the MTU")
    generated = delta["arp_requests"] + icmp_gen
    residual = delta["rx_pkts"] - delta["tx_pkts"] - sum(ddrops.values()) + generated
    if residual != a.arp:
        errors.append(f"unaccounted frames: rx - tx - drops + generated = {residual}, ARP consumed = {a.arp}")
    if delta["arp_learned"] != a.arp:
        errors.append(f"rvsd counted {delta['arp_learned']} ARP replies learned, tcpdump saw {a.arp} consumed")
    frames = sum(i["frames"] for i in inj)
    if delta["rx_pkts"] < frames:
        errors.append(f"rvsd received {sums['rx_pkts']} frames, fewer than the {frames} injected")
    report = {
        "ok": not errors,
        "errors": errors,
        "workers": a.workers,
        "injected": {i["side"]: {"frames": i["frames"], "seconds": i["seconds"], "by_kind": i["by_kind"]} for i in inj},
        "requests": curl["requests"],
        "curl_failures": curl["failures"],
        "rx": sums["rx_pkts"],
        "tx": sums["tx_pkts"],
        "drops_total": total_drops,
        "window": {"rx": delta["rx_pkts"], "tx": delta["tx_pkts"], "drops": sum(ddrops.values()),
                   "generated": {"arp_requests": delta["arp_requests"], "icmp_err_sent": icmp_gen}},
        "icmp_err_suppressed": sums["icmp_err_suppressed"],
        "arp_consumed": a.arp,
        "conns_created": sums["conns_created"],
        "imissed": sum(p["imissed"] for p in ports.values()),
        "mempool": mp,
        "drops": dict(sorted(ddrops.items())),
    }
    report["summary"] = (f"{report['requests']} requests ({curl['failures']} failed), {frames} frames injected, "
                         f"rx {delta['rx_pkts']} tx {delta['tx_pkts']} drops {sum(ddrops.values())} generated {generated}, residual {residual} (ARP consumed {a.arp})")
    print(json.dumps(report, indent=1))
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()
