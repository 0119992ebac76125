//! `log:`: what rvsd's control side logs and in which format.
//!
//! The data path never logs per packet; the control side logs through
//! `tracing`. The level is an `EnvFilter` directive list (`info`,
//! `warn,rvs_ctrl=debug`); `RUST_LOG`, when set, wins over it, as with any
//! tracing program. The grammar is checked here so that a typo is a YAML
//! error with its line and column, not a surprise at boot.

use serde::{Deserialize, Serialize};

/// `log:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConf {
    /// Filter directives: a level and/or `target=level` items, comma
    /// separated (`dpdk` is the target of DPDK's own messages).
    pub level: LogLevel,
    /// `text` (one `rvsd: ...` line per event, for journald and terminals)
    /// or `json` (one JSON object per line, for log shippers).
    pub format: LogFormat,
}

impl Default for LogConf {
    fn default() -> Self {
        LogConf { level: LogLevel("info".into()), format: LogFormat::Text }
    }
}

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A checked filter directive list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogLevel(String);

impl LogLevel {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<LogLevel> for String {
    fn from(l: LogLevel) -> String {
        l.0
    }
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl TryFrom<String> for LogLevel {
    type Error = String;

    fn try_from(s: String) -> Result<LogLevel, String> {
        let bad = |d: &str| {
            format!("bad level directive {d:?} (want one of {} or target=level, comma separated)", LEVELS.join("|"))
        };
        if s.trim().is_empty() {
            return Err(bad(&s));
        }
        for d in s.split(',').map(str::trim) {
            let (target, level) = match d.split_once('=') {
                Some((t, l)) => (Some(t), Some(l)),
                // A bare word must be a level: EnvFilter would take `wran`
                // as a target name and log nothing of what was meant.
                None => (None, Some(d)),
            };
            let target_ok = target
                .is_none_or(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c)));
            let level_ok = level.is_none_or(|l| LEVELS.contains(&l.to_ascii_lowercase().as_str()));
            if !target_ok || !level_ok {
                return Err(bad(d));
            }
        }
        Ok(LogLevel(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        for ok in ["info", "WARN", "warn,rvs_ctrl=debug", "rvs_ctrl::daemon=trace", "dpdk=warn"] {
            assert!(LogLevel::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["", "loud", "rvs_ctrl", "rvs_ctrl=loud", "=info", "a b", "info,,"] {
            assert!(LogLevel::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
    }
}
