//! Layer 3: routes, neighbours (ARP and IPv6 neighbour discovery).

pub mod nd;
pub mod neigh;
pub mod route;
