//! The end of a run: the short version on stdout and the pass condition
//! (every part produced a number), for the smoke test and full runs alike.

use crate::oneway::Target;
use crate::report::Run;

/// The short version on stdout.
pub fn summary(r: &Run) {
    for row in &r.oneway {
        if let Ok(o) = &row.res {
            let ratio =
                r.baseline(row.workers, row.flows).map(|b| format!("x{:.2}", o.mpps / b)).unwrap_or_else(|| "-".into());
            println!(
                "  one-way {}w {:>8} flows {:<16} {:6.2} Mpps  {ratio} of testpmd io  create {}",
                row.workers,
                row.flows,
                row.target.name(),
                o.mpps,
                o.create_mpps.map(|c| format!("{c:.2} Mpps")).unwrap_or_else(|| "-".into())
            );
        }
    }
    for row in &r.oneway6 {
        if let Ok(o) = &row.res {
            let ratio = r.baseline6(row.flows).map(|b| format!("x{:.2}", o.mpps / b)).unwrap_or_else(|| "-".into());
            let v4 = r.ipv4_twin(row).map(|b| format!("x{:.2}", o.mpps / b)).unwrap_or_else(|| "-".into());
            println!(
                "  one-way 1w {:>8} flows {:<16} {:6.2} Mpps  {ratio} of testpmd io (IPv6)  {v4} of IPv4  IPv6",
                row.flows,
                row.target.name(),
                o.mpps
            );
        }
    }
    for row in &r.cps {
        if let Ok(o) = &row.res {
            println!(
                "  conversations {:<16} {:9.0} conn/s  latency {:.0} us  lost {}  live {}  lport_exhausted {}",
                row.target.name(),
                o.cps,
                o.latency_us,
                o.lost,
                o.live_conns.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
                o.drop("lport_exhausted")
            );
        }
    }
    for row in r.oneway.iter().filter(|x| x.workers == 2) {
        let Target::Rvsd(m) = row.target else { continue };
        if let Some(x) = crate::goals::redirects(r, m, row.steered) {
            let split = if row.steered { "owner hash" } else { "flow index" };
            println!(
                "  redirects 2w {:<8} split by {split:<10}: {:.3} flow redirects per 1000 packets ({} ring full), {} to the neighbour owner",
                m.name(),
                x.per_1000(),
                x.ring_full,
                x.neigh
            );
        }
    }
    if let Ok(i) = &r.instr {
        for row in &i.instr {
            if let Ok(v) = &row.value {
                println!(
                    "  callgrind {:<8} {:<4} {:>8} flows: {v:.0} instructions/packet",
                    row.mode.name(),
                    row.path.name(),
                    row.flows
                );
            }
        }
        for row in &i.ns {
            if let Ok(v) = &row.value {
                let c = v * r.machine.tsc_hz / 1e9;
                println!(
                    "  engine    {:<8} {:<4} {:>8} flows: {c:.0} TSC cycles/packet",
                    row.mode.name(),
                    row.path.name(),
                    row.flows
                );
            }
        }
    }
    if let Ok(rows) = &r.mem {
        for m in rows {
            println!(
                "  memory table_size {:>9}: RSS {} MiB, {} B/conn (conn table {:.0} B, templates {:.0} B)",
                m.table_size,
                m.rss >> 20,
                m.rss_per_conn.map(|x| format!("{x:.0}")).unwrap_or_else(|| "ref".into()),
                m.conn_table_per_conn,
                m.template_per_conn
            );
        }
    }
}

/// Every part produced a number (the smoke test's pass condition, and a
/// full run's too).
pub fn check(r: &Run) -> bool {
    let mut ok = true;
    let mut fail = |what: String| {
        println!("rvs-bench: CHECK FAILED: {what}");
        ok = false;
    };
    let rows = r.oneway.iter().map(|x| (x, "")).chain(r.oneway6.iter().map(|x| (x, " IPv6")));
    for (row, v6) in rows {
        let what = format!("one-way{v6} {} {}", row.flows, row.target.name());
        match &row.res {
            Err(e) => fail(format!("{what}: {}", e.lines().next().unwrap_or(""))),
            Ok(o) if o.mpps <= 0.0 => fail(format!("{what}: no packets forwarded")),
            Ok(o)
                if matches!(row.target, Target::Rvsd(_))
                    && o.counters.get("conns_created").copied().unwrap_or(0) == 0 =>
            {
                fail(format!("{what}: no connections created"))
            }
            Ok(_) => {}
        }
    }
    for row in &r.cps {
        match &row.res {
            Err(e) => fail(format!("conversations {}: {}", row.target.name(), e.lines().next().unwrap_or(""))),
            Ok(o) if o.cps <= 0.0 => fail(format!("conversations {}: none completed", row.target.name())),
            // The harness sized table and pool for the run: running out
            // means the sizing is wrong (the report shows the plateau).
            Ok(o) if o.drop("lport_exhausted") + o.drop("conn_table_full") > 0 => fail(format!(
                "conversations {}: out of room (lport_exhausted {}, conn_table_full {})",
                row.target.name(),
                o.drop("lport_exhausted"),
                o.drop("conn_table_full")
            )),
            Ok(_) => {}
        }
    }
    if let Err(e) = &r.mem {
        fail(format!("memory: {e}"));
    }
    match &r.instr {
        Err(e) => fail(format!("engine replay: {}", e.lines().next().unwrap_or(""))),
        Ok(i) if i.instr.is_empty() || i.ns.is_empty() => fail("engine replay: nothing measured".into()),
        Ok(i) => {
            for row in i.instr.iter().chain(&i.ns) {
                match &row.value {
                    Ok(v) if *v > 0.0 => {}
                    Ok(_) => fail(format!("engine replay {} {} {}: zero", row.mode.name(), row.path.name(), row.flows)),
                    Err(e) => fail(format!(
                        "engine replay {} {} {}: {}",
                        row.mode.name(),
                        row.path.name(),
                        row.flows,
                        e.lines().next().unwrap_or("")
                    )),
                }
            }
        }
    }
    // Flows split by index land on the wrong worker about half the time:
    // no redirect at all would mean the redirect path did not run.
    for row in r.oneway.iter().filter(|x| !x.steered) {
        if let Ok(o) = &row.res {
            if matches!(row.target, Target::Rvsd(_)) && o.counters.get("redirect_in").copied().unwrap_or(0) == 0 {
                fail(format!("one-way 2w {} split by index: no redirects", row.target.name()));
            }
        }
    }
    if r.oneway.is_empty() || r.cps.is_empty() {
        fail("nothing ran".into());
    }
    ok
}
