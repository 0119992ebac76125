//! Per-worker connection state: the connection table, IPVS's TCP/UDP/SCTP
//! state machines, the idle-timer wheel and persistence templates.
//!
//! All of it is sans-IO and single-threaded: each worker owns one
//! [`ConnTable`] and one [`TemplateTable`] and passes the current time in
//! ticks ([`timer::HZ`] per second) to every call that needs it. Nothing
//! here allocates after construction.
//!
//! Typical use by a worker, per packet:
//! 1. `lookup(&key)` → hit: `on_packet(id, dir, tcp_flags, now)`; if a
//!    SYN hits an entry where [`state::syn_reuses`] holds, `remove` it and
//!    treat the packet as new;
//! 2. miss on a request: schedule, `insert(Conn::new(..), now)` then
//!    `on_packet(id, Dir::Input, flags, now)`;
//! 3. fold `Transition::active_delta()` into the dest's ActiveConn /
//!    InActConn; on insert count the entry by [`state::is_active`] of its
//!    state, on `remove`/`expire` uncount it the same way;
//! 4. once per loop: `expire(now, budget, |conn| ..)` on both tables.

pub mod index;
pub mod key;
pub mod sctp;
pub mod state;
pub mod table;
pub mod template;
pub mod timer;

#[cfg(test)]
mod tests;

pub use key::{flow_hash, BuildFastHasher, ConnKey, FastHasher};
pub use state::{is_active, next_state, syn_reuses, Dir, State, Timeouts, Transition};
pub use table::{Conn, ConnId, ConnTable, InsertError, NO_TMPL};
pub use template::{Template, TemplateKey, TemplateTable, TmplId};
pub use timer::{secs, TimerWheel, HZ};
