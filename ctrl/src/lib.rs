//! placeholder
pub mod daemon;

pub mod adm;
