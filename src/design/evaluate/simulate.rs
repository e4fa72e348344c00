//! The simulated listener: a listener made of the plant model. Driver feeds in, ear signals
//! out, for the design's own model or any perturbed one (listener moved, head resized).

use crate::design::config::settings::Mode;
use crate::design::model::geometry::Geometry;
use crate::design::model::plant::{EarResponses, Plant};
use crate::design::C64;
use crate::dsp::contract::side_output;
use crate::dsp::contract::{FilterSet, FrameLayout, LatencyMode, UPMIX_CHANNELS};
use realfft::RealFftPlanner;

/// What the simulated ears hear of frequency `freq_hz` at `sample_rate`: everything up to 80 %
/// of the Nyquist frequency, fading to nothing at 95 %, like a measurement microphone's
/// anti-alias filter. The band limit keeps the ear responses' fractional delays compact in
/// time (a delay that is not a whole number of samples rings on forever at Nyquist).
pub fn listening_band(freq_hz: f64, sample_rate: f64) -> f64 {
    let nyquist = sample_rate / 2.0;
    1.0 - crate::design::filters::bands::log_step(freq_hz, 0.80 * nyquist, 0.95 * nyquist)
}

/// The simulated listener's ears as FIRs: from each driver to each ear, the plant response
/// (relative to the reference path, band-limited by [`listening_band`]) in the time domain,
/// from [`FrameLayout::output_delay`] samples before the reference arrival to three times
/// that after it (4 ms at any rate), time-reversed: `[ear][driver][tap]`. What lies outside
/// that span is at least 74 dB down for the built-in sphere at every preset. The engine's
/// headphone preview convolves the driver feeds with exactly these, and so does
/// [`ear_signals`], so the two hear the same listener. In headphone mode the outputs are the
/// ears already: the FIRs are then the identity from the outer outputs.
pub fn ear_firs(
    ears: &EarResponses,
    layout: FrameLayout,
    sample_rate: f64,
    mode: Mode,
) -> Vec<f32> {
    let n = ears.drivers;
    let taps = layout.ear_taps();
    let mut out = vec![0.0f32; 2 * n * taps];
    let inverse = RealFftPlanner::<f64>::new().plan_fft_inverse(layout.fft_len);
    for ear in 0..2 {
        for driver in 0..n {
            let fir = &mut out[(ear * n + driver) * taps..(ear * n + driver + 1) * taps];
            if mode == Mode::Headphones {
                let own = side_output(ear, n);
                if driver == own {
                    fir[taps - 1 - layout.output_delay] = 1.0;
                }
                continue;
            }
            let mut spectrum: Vec<C64> = (0..layout.bins())
                .map(|k| {
                    let f = k as f64 * sample_rate / layout.fft_len as f64;
                    ears.get(k, ear, driver) * listening_band(f, sample_rate)
                })
                .collect();
            spectrum[0].im = 0.0;
            if let Some(last) = spectrum.last_mut() {
                last.im = 0.0;
            }
            let mut ir = vec![0.0; layout.fft_len];
            inverse
                .process(&mut spectrum, &mut ir)
                .expect("buffers sized by the plan");
            for (u, v) in fir.iter_mut().enumerate() {
                // Reversed tap u is delay taps − 1 − u, i.e. plant time (taps − 1 − u) minus
                // the output delay; earlier times wrap around the FFT.
                let t = (taps - 1 - u) as isize - layout.output_delay as isize;
                let at = t.rem_euclid(layout.fft_len as isize) as usize;
                *v = (ir[at] / layout.fft_len as f64) as f32;
            }
        }
    }
    out
}

/// Ear signals of a listener hearing `feeds` (one per driver) through `plant`, with the
/// drivers and listener placed by `geometry`: each feed convolved with its [`ear_firs`]
/// (made at `sample_rate`'s frame layout, relative to the reference path `reference_m`,
/// array centre to the design's head centre). Time zero is the reference arrival, so a
/// chain with latency L puts its direct sound near sample L. Returns `[left ear, right
/// ear]`, as long as the feeds.
pub fn ear_signals(
    plant: &dyn Plant,
    geometry: &Geometry,
    reference_m: f64,
    sample_rate: f64,
    feeds: &[Vec<f32>],
) -> [Vec<f64>; 2] {
    assert_eq!(feeds.len(), geometry.drivers, "one feed per driver");
    // The listener's ears, whatever layout the engine runs: the normal one's resolution.
    let layout = FrameLayout::new(sample_rate, LatencyMode::Normal);
    let ears = plant
        .ear_responses(geometry, &layout.bin_freqs(sample_rate))
        .relative_to(reference_m);
    let firs = ear_firs(&ears, layout, sample_rate, Mode::Speakers);
    let (n, taps, lead) = (geometry.drivers, layout.ear_taps(), layout.output_delay);
    let len = feeds.iter().map(Vec::len).max().unwrap_or(0);
    let fft_len = (len + taps).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);
    let spectrum = |x: &mut Vec<f64>| {
        let mut s = forward.make_output_vec();
        forward
            .process(x, &mut s)
            .expect("buffers sized by the plan");
        s
    };
    let feed_spectra: Vec<Vec<C64>> = feeds
        .iter()
        .map(|feed| {
            let mut time = vec![0.0; fft_len];
            for (t, v) in time.iter_mut().zip(feed) {
                *t = *v as f64;
            }
            spectrum(&mut time)
        })
        .collect();
    std::array::from_fn(|ear| {
        let mut total = vec![C64::new(0.0, 0.0); fft_len / 2 + 1];
        for driver in 0..n {
            let reversed = &firs[(ear * n + driver) * taps..(ear * n + driver + 1) * taps];
            let mut time = vec![0.0; fft_len];
            for (u, h) in reversed.iter().enumerate() {
                time[taps - 1 - u] = *h as f64;
            }
            for (t, (f, x)) in total
                .iter_mut()
                .zip(spectrum(&mut time).iter().zip(&feed_spectra[driver]))
            {
                *t += f * x;
            }
        }
        total[0].im = 0.0;
        total[fft_len / 2].im = 0.0;
        let mut time = vec![0.0; fft_len];
        inverse
            .process(&mut total, &mut time)
            .expect("buffers sized by the plan");
        // Tap `lead` of the FIRs is the reference arrival: undo that delay.
        (0..len)
            .map(|t| time.get(t + lead).copied().unwrap_or(0.0) / fft_len as f64)
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
                                let ear_out = side_output(ear, n);
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
