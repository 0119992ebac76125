//! The three PNG plots of docs/benchmarks.md: data files and a gnuplot
//! script written next to the run's logs, then gnuplot (pngcairo).

use crate::oneway::Target;
use crate::report::{flows_str, mpps, OnewayRow, Run};
use crate::targets::Mode;
use std::fmt::Write as _;
use std::path::Path;

/// Data files and gnuplot script for the three plots; runs gnuplot.
pub fn write(r: &Run, data_dir: &Path, png_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(png_dir).map_err(|e| e.to_string())?;
    let mut mode = String::from("# label steady creation\n");
    if let Some(n) = r.max_flows(1) {
        let mut push = |label: &str, row: Option<&OnewayRow>| {
            if let Some(Ok(o)) = row.map(|x| &x.res) {
                let _ = writeln!(mode, "\"{label}\" {:.3} {:.3}", o.mpps, o.create_mpps.unwrap_or(0.0));
            }
        };
        push(
            "testpmd io",
            r.oneway.iter().find(|x| x.workers == 1 && x.flows == n && x.target == Target::Testpmd("io")),
        );
        for m in Mode::ALL {
            push(m.upper(), r.rvsd_row(1, n, m));
        }
    }
    let mut conns = String::from("# flows testpmd-io DR TUN NAT FULLNAT\n");
    let mut flows: Vec<u32> = r.oneway.iter().filter(|x| x.workers == 1).map(|x| x.flows).collect();
    flows.sort_unstable();
    flows.dedup();
    for f in &flows {
        let mut line = format!("{f} {:.3}", r.baseline(1, *f).unwrap_or(f64::NAN));
        for m in Mode::ALL {
            let _ = write!(line, " {:.3}", r.rvsd_row(1, *f, m).and_then(mpps).unwrap_or(f64::NAN));
        }
        let _ = writeln!(conns, "{line}");
    }
    let mut cpsd = String::from("# label cps\n");
    let mut seen = Vec::new();
    for row in &r.cps {
        if seen.contains(&row.target) {
            continue;
        }
        seen.push(row.target);
        if let Some(o) = r.cps_best(row.target) {
            let _ = writeln!(cpsd, "\"{}\" {:.0}", row.target.name(), o.cps);
        }
    }
    let files = [("mode.dat", mode), ("conns.dat", conns), ("cps.dat", cpsd)];
    for (name, body) in &files {
        std::fs::write(data_dir.join(name), body).map_err(|e| e.to_string())?;
    }
    let d = data_dir.display();
    let p = png_dir.display();
    let script = format!(
        "set terminal pngcairo size 900,500 font 'sans,10' noenhanced\n\
         set grid ytics\nset key top right\nset style fill solid 0.8 border -1\nset yrange [0:*]\n\
         set output '{p}/mpps_vs_mode.png'\n\
         set title 'One-way replay, 1 worker, {n} flows: Mpps by forwarding mode'\n\
         set ylabel 'Mpps'\nset style data histograms\nset style histogram clustered gap 1\n\
         plot '{d}/mode.dat' using 2:xtic(1) title 'steady (established)', '' using 3 title 'first pass (creation)'\n\
         set output '{p}/mpps_vs_conns.png'\nset style data linespoints\nset logscale x\n\
         set title 'One-way replay, 1 worker: Mpps by concurrent connections'\nset xlabel 'flows (connections)'\n\
         set xrange [500:2000000]\n\
         plot for [c=2:6] '{d}/conns.dat' using 1:c title word('testpmd-io DR TUN NAT FULLNAT', c-1) lw 2\n\
         unset logscale x\nunset xlabel\nset autoscale x\nset output '{p}/cps.png'\nset style data histograms\nset yrange [0:1150000]\n\
         set title 'Conversations through the director, 1 worker'\nset ylabel 'connections per second'\nset format y '%.0f'\n\
         plot '{d}/cps.dat' using 2:xtic(1) title 'conversations/s (best run)', 1000000 with lines lw 2 title 'target (1M/s)'\n",
        n = r.max_flows(1).map(flows_str).unwrap_or_default()
    );
    let gp = data_dir.join("plots.gp");
    std::fs::write(&gp, script).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("gnuplot").arg(&gp).output().map_err(|e| format!("gnuplot: {e}"))?;
    if !out.status.success() {
        return Err(format!("gnuplot failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}
