//! rvs control plane: the rvsd daemon ([`daemon`]), its control socket
//! and publisher ([`ctl`]), and the pure logic of the rvsadm CLI ([`adm`]).

#![forbid(unsafe_code)]

pub mod adm;
pub mod ctl;
pub mod daemon;
pub mod fuzzing;
pub mod keepalived;
