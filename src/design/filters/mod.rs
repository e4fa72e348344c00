//! Filter design from a model: the crosstalk canceller, the centre beam, the virtual
//! speakers and the bass crossover, with the linear algebra and frequency bands they share,
//! assembled by [`chain`] into the filter set the audio thread runs.

pub mod bands;
pub mod beam;
pub mod chain;
pub mod crossover;
pub mod ctc;
pub mod linalg;
pub mod virtualizer;
