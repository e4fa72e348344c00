//! The engine offline: the convenient, allocating counterpart of the real-time API. Whole
//! buffers rendered through exactly the plugin's engine ([`render`]), measurements made by
//! running it on synthetic signals ([`measure`]), the `metrics.json` document of a report ([`report`]), and the synthetic mix with known parts that
//! the demo renders and the measurements and benchmarks use as ground truth ([`test_mix`]),
//! the stereo input decoded from WAV, AIFF or FLAC ([`audio_in`]), output levels ([`levels`]) and listener trajectories read from pose
//! files ([`poses`]).

pub mod audio_in;
pub mod levels;
pub mod measure;
pub mod poses;
pub mod render;
pub mod report;
pub mod test_mix;
