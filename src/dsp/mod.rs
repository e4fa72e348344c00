//! Real-time blocks: allocation-free after construction, no locks, no system calls. Plain
//! slices and structs, so the plugin, the CLI, the tests and the benchmarks run the same code.

pub mod bass_split;
pub mod contract;
pub mod denormals;
pub mod engine;
pub mod handover;
pub mod meters;
pub mod planar;
pub mod processor;
pub mod simd;
pub mod smoothing;
pub mod upmix;
