//! What a listener gets from a design: the simulated listener (frequency and time domain),
//! the figures measured on it, the analysis the report and the editor share, and what a
//! listening-zone design buys.

pub mod analysis;
pub mod metrics;
pub mod simulate;
pub mod sweet_spot;
pub mod zone;
