//! rvs control plane: the rvsd daemon ([`daemon`]), its control socket
//! and publisher ([`ctl`]), the pure logic of the rvsadm CLI ([`adm`]),
//! the health checker ([`health`]) and the keepalived.conf importer
//! ([`keepalived`]).

#![forbid(unsafe_code)]

pub mod adm;
pub mod announce;
pub mod ctl;
pub mod daemon;
pub mod fuzzing;
pub mod health;
pub mod keepalived;
pub mod syncd;
