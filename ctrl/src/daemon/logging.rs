//! The daemon's log output: `tracing` events from the control side,
//! filtered by `log.level` (or `RUST_LOG`) and written to stderr, one
//! line per event.
//!
//! The text format is `rvsd: <message> <field>=<value>...`, with the level
//! spelled out only when it is not `info` (`rvsd: WARN ...`): no timestamp,
//! because journald and the lab's log files stamp lines themselves, and
//! the lines operators and scripts already grep (`rvsd: ready`, the
//! `rvsd: final counters` block) stay exactly as they were. `json` writes
//! tracing-subscriber's JSON objects (timestamp, level, target, fields).

use rvs_conf::{LogConf, LogFormat};
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `RUST_LOG`, when set, replaces `log.level`.
pub fn init(conf: &LogConf) -> Result<(), String> {
    let filter = filter(conf)?;
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let r = match conf.format {
        LogFormat::Text => b.event_format(Text).try_init(),
        LogFormat::Json => b.json().flatten_event(true).try_init(),
    };
    r.map_err(|e| format!("log: {e}"))
}

/// The filter from `RUST_LOG` if set, else from `log.level`.
pub fn filter(conf: &LogConf) -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG={v}: {e}")),
        _ => EnvFilter::try_new(conf.level.as_str()).map_err(|e| format!("log.level: {e}")),
    }
}

/// `rvsd: [LEVEL ]message field=value...`
struct Text;

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, ev: &Event<'_>) -> fmt::Result {
        w.write_str("rvsd: ")?;
        let level = *ev.metadata().level();
        if level != Level::INFO {
            write!(w, "{level} ")?;
        }
        ctx.field_format().format_fields(w.by_ref(), ev)?;
        writeln!(w)
    }
}
