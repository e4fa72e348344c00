//! Filter design: everything that may allocate and take milliseconds. Pure functions of the
//! geometry and the parameters, run off the audio thread, shared by the plugin, the CLI, the
//! tests and the benchmarks. Nothing here knows about the plugin framework.

pub mod analysis;
pub mod bands;
pub mod beam;
pub mod crossover;
pub mod ctc;
pub mod filterset;
pub mod geometry;
pub mod head;
pub mod linalg;
pub mod measured;
pub mod metrics;
pub mod plant;
pub mod presets;
pub mod settings;
pub mod simulate;
pub mod sofa;
pub mod virtualizer;
pub mod worker;

/// Complex numbers in double precision: design runs in f64 so that the inversions of
/// ill-conditioned plants do not lose the digits the audio path keeps in f32.
pub type C64 = realfft::num_complex::Complex<f64>;

/// Speed of sound used by every model in the crate (m/s), as in the design brief.
pub const SPEED_OF_SOUND: f64 = 343.0;
