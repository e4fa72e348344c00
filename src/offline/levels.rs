//! Output levels a mastering engineer reads: the true peak, the level between the samples
//! that a player's reconstruction filter reaches (ITU-R BS.1770-4, Annex 2: oversample by 4
//! and take the largest magnitude), so that a file whose samples all stay below full scale
//! but clips in the player's converter is caught; and the integrated loudness (BS.1770-4:
//! K-weighted, gated), so that an output can be brought to its input's loudness.

use std::f64::consts::PI;

/// Oversampling factor of the true-peak meter (BS.1770-4 asks for at least 4 at 48 kHz).
pub const TRUE_PEAK_OVERSAMPLING: usize = 4;

/// Input samples either side of an interpolated point. BS.1770-4's example filter has 12
/// taps per phase; 32 keep the reading of a tone up to 0.4 of the rate within 0.05 dB.
const HALF_TAPS: usize = 16;

/// How far a parabola's vertex can rise above the largest of the three points it is fitted
/// through (to 9/8 of it, when one neighbour is zero and the other equal to it).
const PARABOLA_BOUND: f64 = 1.125;

/// Samples checked at once against the running peak before interpolating them.
const SKIP_BLOCK: usize = 64;

/// The interpolation filter's phases: `phases[p][j]` weighs the input `j - HALF_TAPS + 1`
/// samples from the current one to give the point `p / TRUE_PEAK_OVERSAMPLING` samples after
/// it (phase 0 is the sample itself and is not stored). A Kaiser-windowed sinc (β = 8).
struct Interpolator {
    phases: Vec<[f32; 2 * HALF_TAPS]>,
    /// Sum of the magnitudes of the largest phase: no interpolated point exceeds the
    /// largest nearby sample by more than this factor.
    gain_bound: f64,
}

/// `Σ h·x` in eight lanes, so that the compiler can keep them in one vector register (a
/// single running sum is an order it may not change).
fn dot(h: &[f32; 2 * HALF_TAPS], x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (h, x) in h.chunks_exact(8).zip(x.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += h[i] * x[i];
        }
    }
    lanes.iter().sum()
}

/// The zeroth-order modified Bessel function, by its series (for the Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..40 {
        term *= (x / (2.0 * k as f64)).powi(2);
        sum += term;
    }
    sum
}

impl Interpolator {
    fn new() -> Self {
        let beta = 8.0;
        let half = HALF_TAPS as f64;
        let phases: Vec<[f32; 2 * HALF_TAPS]> = (1..TRUE_PEAK_OVERSAMPLING)
            .map(|p| {
                let fraction = p as f64 / TRUE_PEAK_OVERSAMPLING as f64;
                std::array::from_fn(|j| {
                    // The input's distance from the interpolated point, in samples.
                    let t = (j as f64 - (HALF_TAPS as f64 - 1.0)) - fraction;
                    let sinc = if t == 0.0 {
                        1.0
                    } else {
                        (PI * t).sin() / (PI * t)
                    };
                    let r = (t / half).clamp(-1.0, 1.0);
                    (sinc * bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)) as f32
                })
            })
            .collect();
        let gain_bound = phases
            .iter()
            .map(|h| h.iter().map(|v| f64::from(v.abs())).sum::<f64>())
            .fold(1.0, f64::max);
        Self { phases, gain_bound }
    }
}

/// The true peak of `x` (linear, 1 = full scale): the largest magnitude of the signal
/// reconstructed at four times its rate, the samples before and after it taken as silence.
/// Each local maximum of the oversampled magnitude is refined by a parabola through it and
/// its neighbours, so that a crest between two oversampled points is not read low (a plain
/// 4× meter reads a tone at 0.4 of the rate up to 0.44 dB low; this one within 0.05 dB).
pub fn true_peak(x: &[f32]) -> f64 {
    let mut meter = TruePeakMeter::new();
    meter.push(x);
    meter.finish()
}

/// [`true_peak`] of a signal that arrives a chunk at a time, in constant memory: the same
/// reading, to the bit, however it is cut.
pub struct TruePeakMeter {
    filter: Interpolator,
    /// Samples from absolute index `held_from` on (silence before the signal's start).
    held: Vec<f32>,
    held_from: isize,
    /// Where the next block to check starts.
    start: isize,
    /// Samples pushed.
    len: isize,
    peak: f64,
    oversampled: Vec<f64>,
}

impl Default for TruePeakMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakMeter {
    /// A meter that has seen nothing.
    pub fn new() -> Self {
        let reach = HALF_TAPS as isize;
        Self {
            filter: Interpolator::new(),
            held: vec![0.0; 2 * HALF_TAPS],
            held_from: -2 * reach,
            start: -reach,
            len: 0,
            peak: 0.0,
            oversampled: Vec::with_capacity((SKIP_BLOCK + 2) * TRUE_PEAK_OVERSAMPLING),
        }
    }

    /// Takes the next samples.
    pub fn push(&mut self, x: &[f32]) {
        self.peak = x.iter().fold(self.peak, |m, v| m.max(f64::from(v.abs())));
        self.held.extend_from_slice(x);
        self.len += x.len() as isize;
        self.check_blocks(false);
    }

    /// The reading, once every sample has been pushed.
    pub fn finish(mut self) -> f64 {
        self.held
            .extend(std::iter::repeat_n(0.0, SKIP_BLOCK + 2 * HALF_TAPS + 1));
        self.check_blocks(true);
        self.peak
    }

    /// Checks every block whose window is held (at the end, every block up to the reach
    /// past the last sample), then lets go of the samples no later block needs.
    fn check_blocks(&mut self, last: bool) {
        if !self.peak.is_finite() {
            return;
        }
        let reach = HALF_TAPS as isize;
        let window_len = SKIP_BLOCK + 2 * HALF_TAPS + 1;
        let held_to = self.held_from + self.held.len() as isize;
        while self.start < self.len + reach {
            let end = (self.start + SKIP_BLOCK as isize).min(self.len + reach);
            // window[i] is the sample at start - reach + i.
            let first = self.start - reach;
            if !last
                && (end < self.start + SKIP_BLOCK as isize || first + window_len as isize > held_to)
            {
                break;
            }
            let offset = (first - self.held_from) as usize;
            let window = &self.held[offset..offset + window_len];
            self.peak = check_block(
                &self.filter,
                window,
                self.start,
                end,
                self.peak,
                &mut self.oversampled,
            );
            self.start = end;
        }
        let keep_from = self.start - reach;
        let drop = (keep_from - self.held_from).max(0) as usize;
        if drop > self.held.len() / 2 {
            self.held.drain(..drop);
            self.held_from += drop as isize;
        }
    }
}

/// The true peak so far after the block of samples `start..end`, from `window` (the samples
/// from `start - HALF_TAPS` on): points between samples are only worth interpolating where
/// nearby samples are loud enough for the reconstruction to pass the peak found so far.
fn check_block(
    filter: &Interpolator,
    window: &[f32],
    start: isize,
    end: isize,
    mut peak: f64,
    oversampled: &mut Vec<f64>,
) -> f64 {
    let reach = HALF_TAPS as isize;
    let nearby = f64::from(window.iter().fold(0.0f32, |m, v| m.max(v.abs())));
    if nearby * filter.gain_bound * PARABOLA_BOUND <= peak {
        return peak;
    }
    // The reconstruction at sample `m` plus `p` quarters, from the window.
    let point = |m: isize, p: usize| -> f64 {
        let centre = (m - (start - reach)) as usize;
        if p == 0 {
            return f64::from(window[centre]);
        }
        let taps = &window[centre + 1 - HALF_TAPS..=centre + HALF_TAPS];
        f64::from(dot(&filter.phases[p - 1], taps))
    };
    // One point either side of the block, so that its edges can be refined too.
    oversampled.clear();
    oversampled.push(point(start - 1, TRUE_PEAK_OVERSAMPLING - 1).abs());
    for m in start..end {
        oversampled.extend((0..TRUE_PEAK_OVERSAMPLING).map(|p| point(m, p).abs()));
    }
    oversampled.push(point(end, 0).abs());
    for w in oversampled.windows(3) {
        let (a, b, c) = (w[0], w[1], w[2]);
        peak = peak.max(b);
        let curvature = a - 2.0 * b + c;
        if b >= a && b >= c && curvature < 0.0 {
            peak = peak.max(b - (a - c) * (a - c) / (8.0 * curvature));
        }
    }
    peak
}

/// A biquad's coefficients, `a0` normalised to 1.
#[derive(Clone, Copy, Debug)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    /// Filters one sample, `state` holding the last two inputs and outputs.
    fn step(&self, state: &mut [f64; 4], x0: f64) -> f64 {
        let [x1, x2, y1, y2] = *state;
        let (b, a) = (self.b, self.a);
        let y0 = b[0] * x0 + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
        *state = [x0, x1, y0, y1];
        y0
    }
}

/// BS.1770-4's K-weighting at `sample_rate`: the head's high shelf (+4 dB above about
/// 1.7 kHz), then the RLB high-pass (38 Hz), from their analogue prototypes by the bilinear
/// transform (the standard tabulates them at 48 kHz only).
fn k_weighting(sample_rate: f64) -> [Biquad; 2] {
    let (f0, gain_db, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (PI * f0 / sample_rate).tan();
    let vh = 10f64.powf(gain_db / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Biquad {
        b: [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (PI * f0 / sample_rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let high_pass = Biquad {
        b: [1.0, -2.0, 1.0],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    [shelf, high_pass]
}

/// Gating block and step of the integrated loudness, seconds.
const LOUDNESS_BLOCK_S: f64 = 0.4;
const LOUDNESS_STEP_S: f64 = 0.1;

/// The integrated loudness (ITU-R BS.1770-4) of `channels`, each weighted 1 (the weight of
/// front channels: driver feeds and a stereo pair alike), LUFS: K-weighted, in 400 ms blocks
/// every 100 ms, gated at −70 LUFS and then 10 LU below the mean. `None` for silence, or
/// for less than one block of audio.
pub fn integrated_loudness(channels: &[&[f32]], sample_rate: f64) -> Option<f64> {
    let len = channels.iter().map(|c| c.len()).min()?;
    let cut: Vec<&[f32]> = channels.iter().map(|c| &c[..len]).collect();
    let mut meter = LoudnessMeter::new(channels.len(), sample_rate);
    meter.push(&cut);
    meter.finish()
}

/// [`integrated_loudness`] of channels that arrive a chunk at a time: the K-weighted power
/// of each 100 ms step is kept (10 numbers a second), not the samples. The same reading, to
/// the bit, however the signal is cut.
pub struct LoudnessMeter {
    weighting: [Biquad; 2],
    /// Each channel's two filters' states.
    states: Vec<[[f64; 4]; 2]>,
    /// Samples per step.
    step: usize,
    /// Samples of the current step taken, and each channel's sum of squares over them.
    filled: usize,
    current: Vec<f64>,
    /// The K-weighted squares summed over the channels and over each whole step.
    step_sums: Vec<f64>,
}

impl LoudnessMeter {
    /// A meter of `channels` channels at `sample_rate` that has seen nothing.
    pub fn new(channels: usize, sample_rate: f64) -> Self {
        // The block is whole steps, so that it stays 400 ms where a step's samples round.
        let step = (LOUDNESS_STEP_S * sample_rate).round() as usize;
        Self {
            weighting: k_weighting(sample_rate),
            states: vec![[[0.0; 4]; 2]; channels],
            step,
            filled: 0,
            current: vec![0.0; channels],
            step_sums: Vec::new(),
        }
    }

    /// Takes the next samples of every channel (all the same length).
    pub fn push(&mut self, channels: &[&[f32]]) {
        let len = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        if self.step == 0 {
            return;
        }
        let [shelf, high_pass] = self.weighting;
        let mut at = 0;
        while at < len {
            let take = (self.step - self.filled).min(len - at);
            for ((channel, state), sum) in
                channels.iter().zip(&mut self.states).zip(&mut self.current)
            {
                for &v in &channel[at..at + take] {
                    let [shelved, passed] = state;
                    let y = high_pass.step(passed, shelf.step(shelved, f64::from(v)));
                    *sum += y * y;
                }
            }
            at += take;
            self.filled += take;
            if self.filled == self.step {
                self.step_sums.push(self.current.iter().sum());
                self.current.iter_mut().for_each(|s| *s = 0.0);
                self.filled = 0;
            }
        }
    }

    /// The reading, once every sample has been pushed.
    pub fn finish(self) -> Option<f64> {
        let steps_per_block = (LOUDNESS_BLOCK_S / LOUDNESS_STEP_S).round() as usize;
        let block = steps_per_block * self.step;
        if block == 0 || self.step_sums.len() < steps_per_block {
            return None;
        }
        // Only whole blocks, of whole steps (a partial last step is not kept).
        let blocks: Vec<f64> = self
            .step_sums
            .windows(steps_per_block)
            .map(|w| w.iter().sum::<f64>() / block as f64)
            .collect();
        let loudness = |mean_square: f64| -0.691 + 10.0 * mean_square.log10();
        let mean =
            |kept: &[f64]| (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64);
        let audible: Vec<f64> = blocks
            .into_iter()
            .filter(|z| loudness(*z) > -70.0)
            .collect();
        let relative_gate = loudness(mean(&audible)?) - 10.0;
        let kept: Vec<f64> = audible
            .into_iter()
            .filter(|z| loudness(*z) > relative_gate)
            .collect();
        mean(&kept).map(loudness)
    }
}

/// A level in dB relative to full scale (−∞ for silence).
pub fn dbfs(linear: f64) -> f64 {
    20.0 * linear.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone faded in and out over 400 samples (an abrupt start is a step, and a step's
    /// reconstruction rightly overshoots).
    fn sine(cycles_per_sample: f64, phase: f64, amplitude: f64, len: usize) -> Vec<f32> {
        let fade = 400.0;
        (0..len)
            .map(|n| {
                let edge = (n.min(len - 1 - n) as f64 / fade).min(1.0);
                let envelope = (0.5 - 0.5 * (PI * edge).cos()) * amplitude;
                (envelope * (2.0 * PI * cycles_per_sample * n as f64 + phase).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn the_k_weighting_at_48_khz_is_the_standards_table() {
        let [shelf, high_pass] = k_weighting(48_000.0);
        let table = [
            (shelf.b[0], 1.53512485958697),
            (shelf.b[1], -2.69169618940638),
            (shelf.b[2], 1.19839281085285),
            (shelf.a[0], -1.69065929318241),
            (shelf.a[1], 0.73248077421585),
            (high_pass.a[0], -1.99004745483398),
            (high_pass.a[1], 0.99007225036621),
        ];
        for (i, (ours, standard)) in table.iter().enumerate() {
            assert!(
                (ours - standard).abs() < 1e-8,
                "coefficient {i}: {ours} against {standard}"
            );
        }
    }

    #[test]
    fn a_full_scale_tone_in_one_channel_reads_minus_3_01_lufs_at_any_rate_and_silence_is_gated() {
        for rate in [11_025.0, 44_100.0, 48_000.0, 96_000.0] {
            let len = (5.0 * rate) as usize;
            let tone: Vec<f32> = (0..len)
                .map(|n| (2.0 * PI * 997.0 * n as f64 / rate).sin() as f32)
                .collect();
            let silence = vec![0.0f32; len];
            let one = integrated_loudness(&[&tone, &silence], rate).unwrap();
            println!("{rate} Hz: 997 Hz at 0 dBFS in one channel reads {one:.3} LUFS");
            assert!((one + 3.01).abs() < 0.05, "{one:.3} LUFS");
            // Both channels at -20 dBFS: 3 dB more power than one, 20 dB less level.
            let quiet: Vec<f32> = tone.iter().map(|v| v * 0.1).collect();
            let both = integrated_loudness(&[&quiet, &quiet], rate).unwrap();
            assert!((both + 20.0).abs() < 0.05, "{both:.3} LUFS");
            // Silence after the tone is gated out: only the blocks that straddle the tone's
            // end count (within 0.2 LU), and four times as much silence changes nothing
            // (ungated, it would lower the reading by 7 dB).
            let padded = |seconds: f64| -> Vec<f32> {
                let tail = (seconds * rate) as usize;
                quiet
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(0.0, tail))
                    .collect()
            };
            let (short, long) = (padded(5.0), padded(20.0));
            let after_short = integrated_loudness(&[&short, &short], rate).unwrap();
            let after_long = integrated_loudness(&[&long, &long], rate).unwrap();
            assert!(
                (after_short - both).abs() < 0.2,
                "{after_short:.3} against {both:.3} LUFS"
            );
            assert!(
                (after_long - after_short).abs() < 0.01,
                "{after_long:.3} against {after_short:.3}"
            );
        }
        assert_eq!(integrated_loudness(&[&[0.0; 48_000]], 48_000.0), None);
        assert_eq!(integrated_loudness(&[&[0.5; 100]], 48_000.0), None);
    }

    #[test]
    fn a_peak_between_the_samples_is_found_within_a_tenth_of_a_db() {
        // A quarter of the rate, 45° off the samples: they peak at -3.01 dBFS, the wave at 0.
        let x = sine(0.25, PI / 4.0, 1.0, 4800);
        let sample_peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let read = dbfs(true_peak(&x));
        println!(
            "fs/4 at 45°: samples {:.2} dBFS, true peak {read:.3} dBTP",
            dbfs(f64::from(sample_peak))
        );
        assert!((dbfs(f64::from(sample_peak)) + 3.01).abs() < 0.01);
        assert!(read.abs() < 0.1, "{read:.3} dBTP");
    }

    #[test]
    fn tones_up_to_0_45_of_the_rate_read_within_0_05_db_of_their_amplitude() {
        for f in [0.01, 0.1, 0.2, 0.3, 0.4, 0.45] {
            for phase in [0.0, 0.3, 1.1, 2.0] {
                let read = dbfs(true_peak(&sine(f, phase, 0.5, 4000)));
                assert!(
                    (read - dbfs(0.5)).abs() < 0.05,
                    "{f} of the rate, phase {phase}: {read:.3} dBTP"
                );
            }
        }
        assert_eq!(true_peak(&[0.0; 100]), 0.0);
        assert_eq!(true_peak(&[]), 0.0);
        assert_eq!(true_peak(&[0.5]), 0.5, "a lone sample's own value");
    }

    #[test]
    fn the_meters_read_the_same_to_the_bit_however_the_signal_is_cut() {
        let rate = 48_000.0;
        let x = sine(0.23, 0.7, 0.9, 150_000);
        let y: Vec<f32> = x.iter().rev().map(|v| v * 0.5).collect();
        let whole_peak = true_peak(&x);
        let whole_loudness = {
            let mut meter = LoudnessMeter::new(2, rate);
            meter.push(&[&x, &y]);
            meter.finish()
        };
        for cut in [1, 63, 64, 4_799, 65_536] {
            let mut peak = TruePeakMeter::new();
            let mut loudness = LoudnessMeter::new(2, rate);
            for (a, b) in x.chunks(cut).zip(y.chunks(cut)) {
                peak.push(a);
                loudness.push(&[a, b]);
            }
            assert_eq!(peak.finish(), whole_peak, "cut every {cut}");
            assert_eq!(loudness.finish(), whole_loudness, "cut every {cut}");
        }
        println!(
            "true peak {:.4} dBTP, loudness {whole_loudness:?} LUFS",
            dbfs(whole_peak)
        );
    }
}
