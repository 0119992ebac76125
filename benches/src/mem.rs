//! Bytes per connection, two ways:
//!
//! * from rvsd itself: its resident memory right after boot with
//!   `conn.table_size` S, against a boot with a tiny table (rvsd
//!   allocates and writes every table up front, so the difference is the
//!   tables' whole cost, and it never grows with traffic);
//! * from the structures: `ConnTable::mem_bytes` (slab + free stack +
//!   index + timer wheel) and the persistence `TemplateTable` that rvsd
//!   sizes to `table_size` as well.

use crate::targets::{Env, RvsdConf};
use anyhow::{Context, Result};
use rvs_dataplane::conn::{ConnTable, TemplateTable};
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    pub table_size: u64,
    /// rvsd VmRSS after boot.
    pub rss: u64,
    /// (RSS − RSS of the smallest table) / (size difference).
    pub rss_per_conn: Option<f64>,
    /// ConnTable bytes per entry, from its own accounting.
    pub conn_table_per_conn: f64,
    /// TemplateTable bytes per entry.
    pub template_per_conn: f64,
}

/// rvsd's RSS once booted with `table_size` and no traffic.
fn boot_rss(env: &Env, table_size: u64) -> Result<u64> {
    let prefix = env.prefix(&format!("mem{table_size}"));
    let conf = RvsdConf {
        prefix: prefix.clone(),
        workers: 1,
        mbufs: 16383,
        table_size,
        client_dev: "net_null0,no-rx=1".into(),
        server_dev: "net_null1,no-rx=1".into(),
        mode: crate::targets::Mode::Nat,
        udp: false,
        socket: env.path(&format!("{prefix}.sock")),
        lips: crate::targets::LIPS,
        ipv6: false,
    };
    let yaml = env.path(&format!("{prefix}.yaml"));
    std::fs::write(&yaml, conf.yaml())?;
    let log = env.path(&format!("{prefix}.log"));
    let mut p = env.spawn("rvsd", &env.rvsd, &["--config".into(), yaml.display().to_string()], &log)?;
    let r = (|| {
        p.wait_for(&env.reg, "rvsd: ready", Duration::from_secs(120))?;
        env.reg.sleep(Duration::from_millis(300))?;
        p.rss().context("no VmRSS")
    })();
    let _ = p.stop(Duration::from_secs(20));
    env.cleanup_prefix(&prefix);
    r
}

/// Measure each size in `sizes` (ascending; the first is the reference).
pub fn run(env: &Env, sizes: &[u64]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let base = boot_rss(env, sizes[0])?;
    for (k, &n) in sizes.iter().enumerate() {
        let rss = if k == 0 { base } else { boot_rss(env, n)? };
        let t = ConnTable::new(n as usize);
        let conn = t.mem_bytes() as f64 / n as f64;
        drop(t);
        let tm = TemplateTable::with_clock(n as usize, 0);
        let tmpl = tm.mem_bytes() as f64 / n as f64;
        drop(tm);
        let rss_per_conn = (k > 0).then(|| (rss as f64 - base as f64) / (n - sizes[0]) as f64);
        rows.push(Row { table_size: n, rss, rss_per_conn, conn_table_per_conn: conn, template_per_conn: tmpl });
    }
    Ok(rows)
}
