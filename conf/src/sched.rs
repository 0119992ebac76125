//! Scheduler names and flags, spelled as ipvsadm spells them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A scheduler, by the name operators type after `-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SchedKind {
    Rr,
    Wrr,
    Lc,
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
    /// Maglev with bounded load (rvs extension).
    Mhb,
}

impl SchedKind {
    pub const ALL: [SchedKind; 15] = [
        SchedKind::Rr,
        SchedKind::Wrr,
        SchedKind::Lc,
        SchedKind::Wlc,
        SchedKind::Lblc,
        SchedKind::Lblcr,
        SchedKind::Dh,
        SchedKind::Sh,
        SchedKind::Sed,
        SchedKind::Nq,
        SchedKind::Fo,
        SchedKind::Ovf,
        SchedKind::Mh,
        SchedKind::Twos,
        SchedKind::Mhb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SchedKind::Rr => "rr",
            SchedKind::Wrr => "wrr",
            SchedKind::Lc => "lc",
            SchedKind::Wlc => "wlc",
            SchedKind::Lblc => "lblc",
            SchedKind::Lblcr => "lblcr",
            SchedKind::Dh => "dh",
            SchedKind::Sh => "sh",
            SchedKind::Sed => "sed",
            SchedKind::Nq => "nq",
            SchedKind::Fo => "fo",
            SchedKind::Ovf => "ovf",
            SchedKind::Mh => "mh",
            SchedKind::Twos => "twos",
            SchedKind::Mhb => "mhb",
        }
    }

    /// "rr, wrr, ..." for error messages.
    pub fn valid_list() -> String {
        Self::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for SchedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SchedKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown scheduler '{s}' (valid: {})", Self::valid_list()))
    }
}

/// ipvsadm's `-b` scheduler flags. `flag-1..3` are the generic spellings
/// the kernel uses; sh and mh give them names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SchedFlags(pub u32);

impl SchedFlags {
    pub const FLAG1: u32 = 1;
    pub const FLAG2: u32 = 2;
    pub const FLAG3: u32 = 4;

    pub fn fallback(self) -> bool {
        self.0 & Self::FLAG1 != 0
    }
    pub fn port(self) -> bool {
        self.0 & Self::FLAG2 != 0
    }

    /// Parse a comma list as ipvsadm does (`sh-fallback,sh-port`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut v = 0;
        for f in s.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            v |= match f {
                "flag-1" | "sh-fallback" | "mh-fallback" => Self::FLAG1,
                "flag-2" | "sh-port" | "mh-port" => Self::FLAG2,
                "flag-3" => Self::FLAG3,
                _ => {
                    return Err(format!(
                        "unknown scheduler flag '{f}' (valid: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)"
                    ))
                }
            };
        }
        Ok(SchedFlags(v))
    }

    /// Spelled for a given scheduler, as `ipvsadm -L` prints them.
    pub fn names(self, sched: SchedKind) -> Vec<&'static str> {
        let prefix_named = matches!(sched, SchedKind::Sh | SchedKind::Mh | SchedKind::Mhb);
        let mut out = Vec::new();
        if self.0 & Self::FLAG1 != 0 {
            out.push(match sched {
                SchedKind::Sh => "sh-fallback",
                SchedKind::Mh | SchedKind::Mhb => "mh-fallback",
                _ => "flag-1",
            });
        }
        if self.0 & Self::FLAG2 != 0 {
            out.push(match sched {
                SchedKind::Sh => "sh-port",
                SchedKind::Mh | SchedKind::Mhb => "mh-port",
                _ => "flag-2",
            });
        }
        if self.0 & Self::FLAG3 != 0 {
            out.push("flag-3");
        }
        let _ = prefix_named;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in SchedKind::ALL {
            assert_eq!(k.name().parse::<SchedKind>().unwrap(), k);
        }
        let e = "xyz".parse::<SchedKind>().unwrap_err();
        assert!(e.contains("wlc") && e.contains("mhb"), "{e}");
    }

    #[test]
    fn flags() {
        let f = SchedFlags::parse("sh-fallback,sh-port").unwrap();
        assert!(f.fallback() && f.port());
        assert_eq!(f.names(SchedKind::Sh), vec!["sh-fallback", "sh-port"]);
        assert!(SchedFlags::parse("bogus").is_err());
    }
}
