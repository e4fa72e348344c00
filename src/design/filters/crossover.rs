//! The mono-safe bass crossover: below the crossover frequency the output is the input
//! (delayed); the processing fades in above it.
//!
//! The engine adds the delayed input in the time domain and lets the STFT produce only the
//! difference the processing makes. In the normal layout that difference is designed with
//! an ideal step at `crossover + STEP_OFFSET_HZ` and then Kaiser-windowed to the engine's
//! FIR length; the window's transition band lies just above the crossover, so below it the
//! difference is at least 60 dB down: the bass is the input, exactly to that depth.
//!
//! The low-latency layout has only 80 taps before the bulk delay, too few for a
//! linear-phase step that close to the crossover (its pre-ringing would leak the plain feed
//! into the cancelled band), and too few after it for the tails of a recursive crossover.
//! There the engine splits the input in the time domain instead (see
//! [`crate::dsp::bass_split`]) and the filters hold no crossover: the output is
//! `LP·plain + HP·processed`, the bass below the crossover at least 55 dB clean of
//! processing, and at width 0 the output is the input through the pair's allpass (flat in
//! magnitude, not in phase).

use crate::design::C64;
use crate::dsp::bass_split;
use crate::dsp::contract::{FrameLayout, LatencyMode};
use realfft::RealFftPlanner;

/// Where the ideal step sits above the crossover frequency, Hz: a little more than half the
/// transition width of the Kaiser window at [`KAISER_BETA`] over the designed filters
/// (whose length in milliseconds, and so this width in Hz, is the same at every sample
/// rate): 3.2 × the rate over the taps.
pub const STEP_OFFSET_HZ: f64 = 150.0;

/// Kaiser window parameter of the FIR design: ≈ 80 dB stop band, so that even filters at the
/// boost limit leave the bass 60 dB clean.
pub const KAISER_BETA: f64 = 8.0;

/// Whether `freq_hz` lies in the processed side of the ideal (pre-window) step.
pub fn processed_side(freq_hz: f64, crossover_hz: f64) -> bool {
    freq_hz >= crossover_hz + STEP_OFFSET_HZ
}

/// The crossover of `layout`'s mode at one frequency: what the plain feed and the processed
/// chain are each multiplied by, before the FIR window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    /// The plain side: 1 below the ideal step, 0 above it; or the Linkwitz–Riley low-pass.
    pub plain: C64,
    /// The processed side: the ideal step (0 or 1), or the Linkwitz–Riley high-pass.
    pub processed: C64,
}

/// Whether `mode`'s filters hold the crossover (the windowed ideal step). If not, the
/// engine splits the input in the time domain at [`bass_split_hz`] and the filters hold
/// no crossover at all.
pub fn in_filters(mode: LatencyMode) -> bool {
    mode == LatencyMode::Normal
}

/// Where the engine splits the input in `mode` (see [`crate::dsp::bass_split`]): the
/// Linkwitz–Riley corner, at the same place as the ideal step, `crossover +
/// STEP_OFFSET_HZ`, where it leaves the bass below the crossover 55 dB clean.
pub fn bass_split_hz(mode: LatencyMode, crossover_hz: f64) -> Option<f64> {
    (!in_filters(mode)).then_some(crossover_hz + STEP_OFFSET_HZ)
}

/// The crossover of `mode` at `freq_hz`, as the engine realises it (before the window in
/// the normal layout, exactly in the low one).
pub fn split(mode: LatencyMode, freq_hz: f64, crossover_hz: f64, sample_rate: f64) -> Split {
    match bass_split_hz(mode, crossover_hz) {
        None => {
            let processed = if processed_side(freq_hz, crossover_hz) {
                1.0
            } else {
                0.0
            };
            Split {
                plain: C64::new(1.0 - processed, 0.0),
                processed: C64::new(processed, 0.0),
            }
        }
        Some(corner) => {
            let (plain, processed) = bass_split::response(freq_hz, corner, sample_rate);
            Split { plain, processed }
        }
    }
}

/// Share of the upmix's centre extraction at `freq_hz`: none at or below the crossover (the
/// output there is the plain input, and a time-varying centre mask would only modulate
/// bass into the processed band), all of it where processing is complete.
pub fn centre_share(freq_hz: f64, crossover_hz: f64) -> f64 {
    let from = crossover_hz;
    let to = crossover_hz + 2.0 * STEP_OFFSET_HZ;
    if freq_hz <= from {
        0.0
    } else if freq_hz >= to {
        1.0
    } else {
        0.5 - 0.5 * (std::f64::consts::PI * (freq_hz - from) / (to - from)).cos()
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for
/// the arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..64 {
        term *= (half / k as f64).powi(2);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Windows designed frequency responses into FIRs that fit the engine's convolution room:
/// inverse FFT, a Kaiser window of [`FrameLayout::design_taps`] taps peaking at the bulk
/// delay (a half window on each side of it, symmetric in the normal layout), FFT back.
/// What the engine applies is then exactly a linear convolution with that FIR.
pub struct FirWindow {
    layout: FrameLayout,
    inverse: std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
    forward: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    window: Vec<f64>,
    taps: usize,
}

/// Shortest FIR a design can be windowed to: a few taps on each side of the bulk delay in
/// every layout.
pub const MIN_TAPS: usize = 16;

/// How many of `taps` taps a window of that length keeps before the bulk delay: the share
/// the layout's full-length window keeps, so that a shorter filter loses both ends alike.
/// `taps` runs from [`MIN_TAPS`] to [`FrameLayout::design_taps`].
pub fn taps_before_delay(layout: FrameLayout, taps: usize) -> usize {
    let full = layout.design_taps();
    (layout.bulk_delay as f64 * (taps - 1) as f64 / (full - 1) as f64).round() as usize
}

impl FirWindow {
    /// Plans the transforms and the window for `layout`.
    pub fn new(layout: FrameLayout) -> Self {
        Self::with_taps(layout, layout.design_taps())
    }

    /// Plans the transforms and a window of only `taps` taps ([`MIN_TAPS`] up to
    /// [`FrameLayout::design_taps`]), still peaking at the bulk delay, for a device whose DSP
    /// has less room than the engine: it starts [`taps_before_delay`] taps before the delay.
    pub fn with_taps(layout: FrameLayout, taps: usize) -> Self {
        assert!(
            (MIN_TAPS..=layout.design_taps()).contains(&taps),
            "{taps} taps is outside {MIN_TAPS}..={}",
            layout.design_taps()
        );
        let mut planner = RealFftPlanner::<f64>::new();
        let kept_before = taps_before_delay(layout, taps);
        let first = layout.bulk_delay - kept_before;
        let before = kept_before as f64;
        let after = (taps - 1 - kept_before) as f64;
        let norm = bessel_i0(KAISER_BETA);
        let window = (0..layout.fft_len)
            .map(|i| {
                if i < first || i >= first + taps {
                    0.0
                } else {
                    let from_peak = i as f64 - layout.bulk_delay as f64;
                    let r = from_peak / if from_peak < 0.0 { before } else { after };
                    bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / norm
                }
            })
            .collect();
        Self {
            layout,
            inverse: planner.plan_fft_inverse(layout.fft_len),
            forward: planner.plan_fft_forward(layout.fft_len),
            window,
            taps,
        }
    }

    /// The length of the FIRs this window makes.
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// Replaces `response` (one value per bin) by the response of its windowed FIR.
    pub fn apply(&mut self, response: &mut [C64]) {
        let len = self.layout.fft_len;
        let mut spectrum = response.to_vec();
        spectrum[0].im = 0.0;
        if let Some(last) = spectrum.last_mut() {
            last.im = 0.0;
        }
        let mut taps = vec![0.0; len];
        self.inverse
            .process(&mut spectrum, &mut taps)
            .expect("DC and Nyquist are real and the buffers are sized by the plan");
        for (t, w) in taps.iter_mut().zip(&self.window) {
            *t *= w / len as f64;
        }
        self.forward
            .process(&mut taps, response)
            .expect("buffers are sized by the plan");
    }
}

/// The plain-input share of the output per bin (1 well below the crossover, 0 above the
/// transition), as the engine realises it: in the normal layout the step, delayed by the
/// bulk delay, windowed to `taps` taps (see [`FirWindow::with_taps`]), and the delay taken
/// out again; in the low one the magnitude of the time-domain split's low-pass.
pub fn plain_share(
    layout: FrameLayout,
    sample_rate: f64,
    crossover_hz: f64,
    taps: usize,
) -> Vec<f64> {
    let freqs = layout.bin_freqs(sample_rate);
    if !in_filters(layout.mode) {
        return freqs
            .iter()
            .map(|&f| {
                split(layout.mode, f, crossover_hz, sample_rate)
                    .plain
                    .norm()
            })
            .collect();
    }
    let delay = |f: f64| {
        C64::from_polar(
            1.0,
            -2.0 * std::f64::consts::PI * f * layout.bulk_delay as f64 / sample_rate,
        )
    };
    let mut response: Vec<C64> = freqs
        .iter()
        .map(|&f| {
            if processed_side(f, crossover_hz) {
                C64::new(0.0, 0.0)
            } else {
                delay(f)
            }
        })
        .collect();
    FirWindow::with_taps(layout, taps).apply(&mut response);
    response
        .iter()
        .zip(&freqs)
        .map(|(r, &f)| (r * delay(f).conj()).re.clamp(0.0, 1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_matches_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008).abs() < 1e-12);
        assert!((bessel_i0(6.5) - 106.292_858_243_995_6).abs() < 1e-6);
    }

    #[test]
    fn plain_below_processed_above() {
        let layout = FrameLayout::new(48_000.0, LatencyMode::Normal);
        let share = plain_share(layout, 48_000.0, 120.0, layout.design_taps());
        let freqs = layout.bin_freqs(48_000.0);
        for (s, f) in share.iter().zip(&freqs) {
            if *f <= 120.0 {
                assert!((1.0 - s).abs() < 1e-3, "{f} Hz: {s}");
            }
            if *f >= 120.0 + 2.0 * STEP_OFFSET_HZ {
                assert!(*s < 1e-3, "{f} Hz: {s}");
            }
        }
    }
}
