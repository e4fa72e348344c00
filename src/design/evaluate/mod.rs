//! What a listener gets from a design: the simulated listener (frequency and time domain),
//! the figures measured on it, and the analysis the report and the editor share.

pub mod analysis;
pub mod metrics;
pub mod simulate;
pub mod sweet_spot;
