//! Configuration model shared by rvsd, rvsadm and the data path.
//!
//! Everything an operator can say about the director lives here as plain
//! data: the YAML file is parsed into [`Config`], and rvsadm commands edit
//! the same [`ServiceConf`]/[`DestConf`] types, so that both front ends act on
//! one model (reload and `rvsadm -R` both end in [`Config::validate`]).

#![forbid(unsafe_code)]

pub mod announce;
pub mod family;
pub mod fuzzing;
pub mod health;
pub mod log;
pub mod model;
mod one_packet;
pub mod proxy_proto;
pub mod sched;
pub mod sync;
pub mod yaml;

pub use announce::{AnnounceConf, ShutdownConf};
pub use family::is_real_server_addr;
pub use health::{CheckKind, HealthCheck, Secs, SorryServer};
pub use log::{LogConf, LogFormat, LogLevel};
pub use model::*;
pub use proxy_proto::ProxyProtocol;
pub use sched::{SchedFlags, SchedKind};
pub use sync::{SyncConf, SyncRole};
pub use yaml::{load_file, load_str, ConfError};
