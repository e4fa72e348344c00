//! The acoustic self-test: a listener made of the plant model. Driver feeds in, ear signals
//! out, for the design's own model or any perturbed one (listener moved, head resized).

use super::filterset::{FilterSet, UPMIX_CHANNELS};
use super::geometry::Geometry;
use super::plant::{EarResponses, Plant};
use super::settings::Mode;
use super::C64;
use realfft::RealFftPlanner;

/// Time the simulated ear signals are shifted by so that arrivals slightly earlier than the
/// reference path (the ear is nearer than the head centre) are not lost, seconds.
const GUARD_S: f64 = 0.002;

/// Ear signals of a listener hearing `feeds` (one per driver) through `plant`, with the
/// drivers and listener placed by `geometry`. Time zero is the arrival of the reference path
/// `reference_m` (array centre to the design's head centre), so a chain with latency L puts
/// its direct sound near sample L. Returns `[left ear, right ear]`, as long as the feeds.
pub fn ear_signals(
    plant: &dyn Plant,
    geometry: &Geometry,
    reference_m: f64,
    sample_rate: f64,
    feeds: &[Vec<f32>],
) -> [Vec<f64>; 2] {
    assert_eq!(feeds.len(), geometry.drivers, "one feed per driver");
    let len = feeds.iter().map(Vec::len).max().unwrap_or(0);
    let guard = (GUARD_S * sample_rate).ceil() as usize;
    let fft_len = (len + 4 * guard + (0.05 * sample_rate) as usize).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);
    let freqs: Vec<f64> = (0..fft_len / 2 + 1)
        .map(|k| k as f64 * sample_rate / fft_len as f64)
        .collect();
    let ears = plant
        .ear_responses(geometry, &freqs)
        .relative_to(reference_m);
    let spectra: Vec<Vec<C64>> = feeds
        .iter()
        .map(|feed| {
            let mut time = vec![0.0; fft_len];
            for (t, v) in time.iter_mut().zip(feed) {
                *t = *v as f64;
            }
            let mut spec = forward.make_output_vec();
            forward
                .process(&mut time, &mut spec)
                .expect("buffers sized by the plan");
            spec
        })
        .collect();
    std::array::from_fn(|ear| {
        let mut spec: Vec<C64> = (0..freqs.len())
            .map(|k| {
                let shift = C64::from_polar(
                    1.0,
                    -2.0 * std::f64::consts::PI * freqs[k] * guard as f64 / sample_rate,
                );
                (0..geometry.drivers)
                    .map(|n| ears.get(k, ear, n) * spectra[n][k])
                    .sum::<C64>()
                    * shift
            })
            .collect();
        spec[0].im = 0.0;
        spec[fft_len / 2].im = 0.0;
        let mut time = vec![0.0; fft_len];
        inverse
            .process(&mut spec, &mut time)
            .expect("buffers sized by the plan");
        time[guard..guard + len]
            .iter()
            .map(|v| v / fft_len as f64)
            .collect()
    })
}

/// The static chain's response from each upmix channel (L', R', C) to each ear, per bin:
/// `[bin][ear][channel]`. Through the plant in speakers and binaural modes; in headphone mode
/// the outer outputs are the ears. `ears` must be at the filter set's bin frequencies and
/// relative to the design's reference path.
pub fn chain_ear_responses(
    filters: &FilterSet,
    ears: &EarResponses,
    mode: Mode,
    width: f64,
) -> Vec<[[C64; UPMIX_CHANNELS]; 2]> {
    let n = filters.outputs;
    (0..filters.layout.bins())
        .map(|k| {
            std::array::from_fn(|ear| {
                std::array::from_fn(|ch| {
                    (0..n)
                        .map(|out| {
                            let to_ear = if mode == Mode::Headphones {
                                let ear_out = if ear == 0 { 0 } else { n - 1 };
                                C64::new(if out == ear_out { 1.0 } else { 0.0 }, 0.0)
                            } else {
                                ears.get(k, ear, out)
                            };
                            to_ear * filters.response(k, out, ch, width)
                        })
                        .sum()
                })
            })
        })
        .collect()
}

/// Ears of `geometry` as seen by `plant` at the filter set's bins, relative to `reference_m`.
pub fn ears_at_bins(
    plant: &dyn Plant,
    geometry: &Geometry,
    reference_m: f64,
    filters: &FilterSet,
    sample_rate: f64,
) -> EarResponses {
    let freqs = filters.layout.bin_freqs(sample_rate);
    plant
        .ear_responses(geometry, &freqs)
        .relative_to(reference_m)
}
