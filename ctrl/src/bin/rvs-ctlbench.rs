//! rvs-ctlbench: how fast Control takes a large table.
//!
//! Against a running rvsd: saves the current table, restores a generated
//! one of `--services` × `--dests` with one `-R` transaction, edits a
//! weight in it repeatedly (each edit republishes the whole table), lists
//! it, then puts the saved table back. Prints wall-clock times and what
//! rvsd reports: the time to apply and build the snapshot, and the time
//! from the swap until every worker runs it.
//!
//! `rvs-ctlbench --socket /tmp/rvs-lab-c/rvsd.sock [--services 10000] [--dests 16] [--edits 20]`

#![forbid(unsafe_code)]

use rvs_ctrl::adm::{self, cmd::SaveOpts, format};
use rvs_ctrl::ctl::client;
use rvs_ctrl::ctl::proto::{ApplyReport, Reply, Request};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Opts {
    socket: PathBuf,
    services: usize,
    dests: usize,
    edits: usize,
}

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rvs-ctlbench: {e}\nusage: rvs-ctlbench --socket PATH [--services N] [--dests N] [--edits N]");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&o) {
        eprintln!("rvs-ctlbench: {e}");
        std::process::exit(1);
    }
}

fn opts() -> Result<Opts, String> {
    let mut o = Opts { socket: PathBuf::from(client::DEFAULT_SOCKET), services: 10_000, dests: 16, edits: 20 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut v = || it.next().ok_or(format!("{a}: missing value"));
        match a.as_str() {
            "--socket" => o.socket = PathBuf::from(v()?),
            "--services" => o.services = v()?.parse().map_err(|e| format!("--services: {e}"))?,
            "--dests" => o.dests = v()?.parse().map_err(|e| format!("--dests: {e}"))?,
            "--edits" => o.edits = v()?.parse().map_err(|e| format!("--edits: {e}"))?,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.services == 0 || o.services > 65536 * 200 || o.dests == 0 || o.dests > 65536 {
        return Err("--services 1..13M, --dests 1..65536".into());
    }
    Ok(o)
}

fn vip(i: usize) -> String {
    format!("10.{}.{}.{}", 100 + i / 65536, (i / 256) % 256, i % 256)
}

fn rip(j: usize) -> String {
    format!("192.168.{}.{}", 1 + j / 250, 1 + j % 250)
}

/// `-C` then the generated table, as `-R` input.
fn table_text(o: &Opts) -> String {
    let mut t = String::from("-C\n");
    for i in 0..o.services {
        let v = vip(i);
        let _ = writeln!(t, "-A -t {v}:80 -s wrr");
        for j in 0..o.dests {
            let _ = writeln!(t, "-a -t {v}:80 -r {}:80 -m -w 1", rip(j));
        }
    }
    t
}

fn applied(sock: &Path, req: Request) -> Result<(ApplyReport, Duration), String> {
    let t = Instant::now();
    match client::call(sock, &req).map_err(|e| e.to_string())? {
        Reply::Applied(r) => Ok((r, t.elapsed())),
        _ => Err("unexpected reply".into()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn run(o: &Opts) -> Result<(), String> {
    let sock = o.socket.as_path();
    let Reply::Table(saved) = client::call(sock, &Request::Save).map_err(|e| e.to_string())? else {
        return Err("unexpected reply to save".into());
    };
    let saved: Vec<_> = saved.services.into_iter().map(|s| s.conf).collect();
    let back =
        format!("-C\n{}", format::save(&saved, &SaveOpts::default(), &format::Numeric).map_err(|e| e.to_string())?);

    let text = table_text(o);
    let lines = text.lines().count();
    println!(
        "table: {} services x {} dests ({} restore lines, {:.1} MiB)",
        o.services,
        o.dests,
        lines,
        text.len() as f64 / (1 << 20) as f64
    );
    let t = Instant::now();
    let cmds = adm::parse_restore(&text).map_err(|e| e.to_string())?;
    println!("  rvsadm-side parse of the -R input: {:.1} ms", ms(t.elapsed()));
    let (r, wall) = applied(sock, Request::Restore { text, dry_run: false })?;
    drop(cmds);
    println!(
        "restore (-R, one transaction): wall {:.1} ms; rvsd apply+build {:.1} ms; swap -> all workers {:.3} ms (synced {}) generation {}",
        ms(wall),
        r.build_us as f64 / 1e3,
        r.sync_us as f64 / 1e3,
        r.synced,
        r.generation
    );

    let mut walls = Vec::new();
    let mut builds = Vec::new();
    let mut syncs = Vec::new();
    for k in 0..o.edits {
        let line = format!("-e -t {}:80 -r {}:80 -m -w {}", vip(k % o.services), rip(0), 2 + k % 5);
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let cmd = adm::parse_args(&words).map_err(|e| e.to_string())?;
        let (r, wall) = applied(sock, Request::Apply { cmds: vec![(0, cmd)], dry_run: false })?;
        walls.push(ms(wall));
        builds.push(r.build_us as f64 / 1e3);
        syncs.push(r.sync_us as f64 / 1e3);
    }
    if o.edits > 0 {
        println!(
            "single edit (-e weight) on this table, median of {}: wall {:.1} ms; apply+build {:.1} ms; swap -> all workers {:.3} ms",
            o.edits,
            median(&mut walls),
            median(&mut builds),
            median(&mut syncs)
        );
    }
    let t = Instant::now();
    let Reply::Table(v) = client::call(sock, &Request::Get).map_err(|e| e.to_string())? else {
        return Err("unexpected reply to get".into());
    };
    println!("listing (-L data, {} services): {:.1} ms", v.services.len(), ms(t.elapsed()));

    let (r, wall) = applied(sock, Request::Restore { text: back, dry_run: false })?;
    println!(
        "put back the saved table ({} services): wall {:.1} ms, generation {}",
        r.services,
        ms(wall),
        r.generation
    );
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
