//! Layer 3 state: the director's interfaces, routes and neighbours.

pub mod neigh;
pub mod route;
