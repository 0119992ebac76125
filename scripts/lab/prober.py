#!/usr/bin/env python3
"""New connections during a failover (scripts/lab-ecmp.sh): run in the
client namespace, starts a curl to URL every --every seconds (each with
--max-time), at most --count of them or until --duration has passed, and
reports JSON on stdout: {"probes": N, "failed": F, "results": [{"t": start
(epoch seconds), "dt": seconds taken, "ok": bool, "server": the first word
of the answer, "error": curl's message}]}. Probes overlap when one is slow,
so a stalled connection does not hide the ones after it. Stdlib only.

    prober.py URL [--every 0.1] [--count 600] [--duration 30] [--max-time 2]"""
import argparse
import json
import subprocess
import sys
import threading
import time


def probe(url: str, max_time: float, out: list):
    t = time.time()
    p = subprocess.run(["curl", "-sS", "--max-time", str(max_time), url], capture_output=True, text=True)
    r = {"t": t, "dt": round(time.time() - t, 3), "ok": p.returncode == 0,
         "server": p.stdout.split()[0] if p.stdout.split() else "", "error": p.stderr.strip()}
    out.append(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--max-time", type=float, default=2.0)
    a = ap.parse_args()
    results, threads = [], []
    t0 = time.monotonic()
    for i in range(a.count):
        if time.monotonic() - t0 >= a.duration:
            break
        th = threading.Thread(target=probe, args=(a.url, a.max_time, results))
        th.start()
        threads.append(th)
        time.sleep(max(0.0, t0 + (i + 1) * a.every - time.monotonic()))
    for th in threads:
        th.join()
    results.sort(key=lambda r: r["t"])
    json.dump({"probes": len(results), "failed": sum(1 for r in results if not r["ok"]), "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
