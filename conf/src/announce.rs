//! `announce:` and `shutdown:`: how a director tells its routers which
//! VIPs it serves, and how it leaves.
//!
//! rvsd does not speak BGP. It drives the operator's BIRD 2: it (re)writes
//! one include file with a static protocol per family listing the VIPs it
//! can serve now, and asks BIRD to `configure` over BIRD's control socket.
//! The operator's `bird.conf` includes that file and exports those
//! protocols to its BGP sessions; everything else about routing (peers,
//! timers, BFD, communities) stays BIRD's configuration.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `announce:` section (off when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceConf {
    /// BIRD's control socket (`bird -s`), e.g. `/run/bird/bird.ctl`.
    pub bird_socket: PathBuf,
    /// The file rvsd owns and rewrites; `bird.conf` must `include` it. It
    /// defines the static protocols `rvs_vips4` and `rvs_vips6`.
    pub bird_include: PathBuf,
}

/// `shutdown:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConf {
    /// Seconds SIGTERM drains before rvsd exits: the routes are withdrawn
    /// at once, established connections are served until they end or this
    /// passes. 0 (the default): SIGTERM withdraws and exits at once. A
    /// second SIGTERM or a SIGINT always exits at once.
    pub drain_timeout: u32,
}
