//! Filter design: everything that may allocate and take milliseconds, run off the audio
//! thread and shared by the plugin, the CLI, the tests and the benchmarks. Nothing here knows
//! about the plugin framework. It reads one way: the configuration ([`config`]) and an
//! acoustic model of the listener ([`model`]) go into the filter design ([`filters`]), which
//! produces the contract the audio thread runs ([`crate::dsp::contract`]); [`evaluate`]
//! listens to a design through a model, and [`worker`] runs the design on its own thread.

mod error;

pub use error::{DesignError, HeadDamage};

pub mod config;
pub mod evaluate;
pub mod export;
pub mod filters;
pub mod model;
pub mod worker;

/// Complex numbers in double precision: design runs in f64 so that the inversions of
/// ill-conditioned plants do not lose the digits the audio path keeps in f32.
pub type C64 = realfft::num_complex::Complex<f64>;

/// Speed of sound used by every model in the crate (m/s), as in the design brief.
pub const SPEED_OF_SOUND: f64 = 343.0;
