//! Output levels a mastering engineer reads: the true peak, the level between the samples
//! that a player's reconstruction filter reaches (ITU-R BS.1770-4, Annex 2: oversample by 4
//! and take the largest magnitude), so that a file whose samples all stay below full scale
//! but clips in the player's converter is caught; and the integrated loudness (BS.1770-4:
//! K-weighted, gated), so that an output can be brought to its input's loudness.

use crate::dsp::simd::{Kernel, Simd};
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

/// Lanes of the magnitude fold: as many independent maxima as a vector register holds
/// twice over, so that the fold is not one long chain the compiler must keep in order.
const MAX_LANES: usize = 16;

/// The largest magnitude in `x` (NaN ignored, as `f32::max` does), folded in
/// [`MAX_LANES`] lanes so that it vectorizes.
#[inline(always)]
fn abs_max(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; MAX_LANES];
    let mut chunks = x.chunks_exact(MAX_LANES);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v.abs());
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    lanes.iter().fold(tail, |m, &v| m.max(v))
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
    simd: Simd,
    /// Samples from absolute index `held_from` on (silence before the signal's start).
    held: Vec<f32>,
    held_from: isize,
    /// Where the next block to check starts.
    start: isize,
    /// Samples pushed.
    len: isize,
    peak: f64,
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
            simd: Simd::detect(),
            held: vec![0.0; 2 * HALF_TAPS],
            held_from: -2 * reach,
            start: -reach,
            len: 0,
            peak: 0.0,
        }
    }

    /// Takes the next samples.
    pub fn push(&mut self, x: &[f32]) {
        self.peak = self.peak.max(f64::from(self.simd.run(AbsMax(x))));
        self.held.extend_from_slice(x);
        self.len += x.len() as isize;
        self.check_blocks(false);
    }

    /// The reading, once every sample has been pushed.
    pub fn finish(mut self) -> f64 {
        self.held.extend(std::iter::repeat_n(0.0, WINDOW_LEN));
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
        let held_to = self.held_from + self.held.len() as isize;
        while self.start < self.len + reach {
            let end = (self.start + SKIP_BLOCK as isize).min(self.len + reach);
            // window[i] is the sample at start - reach + i.
            let first = self.start - reach;
            if !last
                && (end < self.start + SKIP_BLOCK as isize || first + WINDOW_LEN as isize > held_to)
            {
                break;
            }
            let offset = (first - self.held_from) as usize;
            let window = &self.held[offset..offset + WINDOW_LEN];
            self.peak = self.simd.run(CheckBlock {
                filter: &self.filter,
                window,
                start: self.start,
                end,
                peak: self.peak,
            });
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

/// [`abs_max`], compiled for the CPU's widest vectors.
struct AbsMax<'a>(&'a [f32]);

impl Kernel for AbsMax<'_> {
    type Output = f32;
    #[inline(always)]
    fn run(self) -> f32 {
        abs_max(self.0)
    }
}

/// [`check_block`], compiled for the CPU's widest vectors (the same arithmetic, lane by
/// lane, so the same reading on every CPU).
struct CheckBlock<'a> {
    filter: &'a Interpolator,
    window: &'a [f32],
    start: isize,
    end: isize,
    peak: f64,
}

impl Kernel for CheckBlock<'_> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        check_block(self.filter, self.window, self.start, self.end, self.peak)
    }
}

/// Interpolated points of one phase for a block: the block's samples and the one before it.
const BLOCK_POINTS: usize = SKIP_BLOCK + 1;

/// Lanes of an AVX2 register of `f32`.
const VECTOR_LANES: usize = 8;

/// A block's points rounded up to whole vectors.
const GROUPED_POINTS: usize = BLOCK_POINTS.div_ceil(VECTOR_LANES) * VECTOR_LANES;

/// Samples that reach a block's points or its edges' refinement.
const NEARBY_LEN: usize = SKIP_BLOCK + 2 * HALF_TAPS + 1;

/// Samples a block's interpolation reads: the taps of its points, rounded up to vectors.
const WINDOW_LEN: usize = GROUPED_POINTS + 2 * HALF_TAPS - 1;

/// The true peak so far after the block of samples `start..end`, from `window` (the samples
/// from `start - HALF_TAPS` on): points between samples are only worth interpolating where
/// nearby samples are loud enough for the reconstruction to pass the peak found so far.
#[inline(always)]
fn check_block(filter: &Interpolator, window: &[f32], start: isize, end: isize, peak: f64) -> f64 {
    let nearby = f64::from(abs_max(&window[..NEARBY_LEN]));
    if nearby * filter.gain_bound * PARABOLA_BOUND <= peak {
        return peak;
    }
    // between[p][i]: the reconstruction p + 1 quarters after the sample start - 1 + i, each
    // phase's taps applied across the whole block at once (a loop the compiler vectorizes
    // and keeps in registers), always for a whole number of vectors so that the loops have
    // a fixed length and no remainder.
    let mut between = [[0.0f32; GROUPED_POINTS]; TRUE_PEAK_OVERSAMPLING - 1];
    let window: &[f32; WINDOW_LEN] = window.try_into().expect("a whole window");
    for (h, points) in filter.phases.iter().zip(&mut between) {
        for (j, &weight) in h.iter().enumerate() {
            let x: &[f32; GROUPED_POINTS] = window[j..j + GROUPED_POINTS]
                .try_into()
                .expect("a whole window");
            for (point, &x) in points.iter_mut().zip(x) {
                *point += weight * x;
            }
        }
    }
    let block = (end - start) as usize;
    // The oversampled magnitude from the last point before the block to the first after it,
    // so that the block's edges can be refined too.
    let sample = |i: usize| window[HALF_TAPS - 1 + i];
    let mut oversampled = [0.0f32; SKIP_BLOCK * TRUE_PEAK_OVERSAMPLING + 2];
    oversampled[0] = between[TRUE_PEAK_OVERSAMPLING - 2][0];
    let frames = oversampled[1..].chunks_exact_mut(TRUE_PEAK_OVERSAMPLING);
    for (i, frame) in (1..=block).zip(frames) {
        frame[0] = sample(i);
        for (point, phase) in frame[1..].iter_mut().zip(&between) {
            *point = phase[i];
        }
    }
    let used = block * TRUE_PEAK_OVERSAMPLING + 2;
    oversampled[used - 1] = sample(block + 1);
    let oversampled = &oversampled[..used];
    // No parabola rises above 9/8 of its largest point: a block whose points all stay
    // below the peak by more than that cannot raise it.
    if f64::from(abs_max(oversampled)) * PARABOLA_BOUND <= peak {
        return peak;
    }
    let mut peak = peak;
    for w in oversampled.windows(3) {
        let [a, b, c] = [w[0], w[1], w[2]].map(|v| f64::from(v.abs()));
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
    /// Filters one sample in each of `N` lanes, `state` holding each lane's last two inputs
    /// and outputs: lanes side by side, so that the compiler can run channels in one vector
    /// register, each computed exactly as it would be alone.
    fn step<const N: usize>(&self, state: &mut [[f64; N]; 4], x0: [f64; N]) -> [f64; N] {
        let [x1, x2, y1, y2] = *state;
        let (b, a) = (self.b, self.a);
        let y0: [f64; N] = std::array::from_fn(|i| {
            // The previous output last, so that it waits on one multiply and one subtract
            // (the recursion, not the arithmetic, sets the pace).
            b[0] * x0[i] + b[1] * x1[i] + b[2] * x2[i] - a[1] * y2[i] - a[0] * y1[i]
        });
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

/// Adds the K-weighted squares of `channels[..][range]` to `sums`, each channel's filters
/// running on from `states`: the channels in lanes of one loop (see [`Biquad::step`]).
fn weigh<const N: usize>(
    channels: [&[f32]; N],
    range: std::ops::Range<usize>,
    [shelf, high_pass]: [Biquad; 2],
    states: &mut [[[f64; 4]; 2]],
    sums: &mut [f64],
) {
    let lanes = |filter: usize| -> [[f64; N]; 4] {
        std::array::from_fn(|k| std::array::from_fn(|i| states[i][filter][k]))
    };
    let (mut shelved, mut passed) = (lanes(0), lanes(1));
    let mut sum: [f64; N] = std::array::from_fn(|i| sums[i]);
    let len = range.len();
    let channels = channels.map(|c| &c[range.clone()][..len]);
    let frames = (0..len).map(|n| std::array::from_fn(|i| f64::from(channels[i][n])));
    for x in frames {
        let y = high_pass.step(&mut passed, shelf.step(&mut shelved, x));
        for i in 0..N {
            sum[i] += y[i] * y[i];
        }
    }
    for i in 0..N {
        for k in 0..4 {
            states[i][0][k] = shelved[k][i];
            states[i][1][k] = passed[k][i];
        }
        sums[i] = sum[i];
    }
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
        let mut at = 0;
        while at < len {
            let take = (self.step - self.filled).min(len - at);
            let mut rest = channels;
            let mut channel = 0;
            // Two channels at a time, then the odd one.
            while !rest.is_empty() {
                let lanes = rest.len().min(2);
                let (group, later) = rest.split_at(lanes);
                let range = channel..channel + lanes;
                let (states, sums) = (&mut self.states[range.clone()], &mut self.current[range]);
                match group {
                    [a, b] => weigh([a, b], at..at + take, self.weighting, states, sums),
                    [a] => weigh([a], at..at + take, self.weighting, states, sums),
                    _ => unreachable!("groups of one or two channels"),
                }
                rest = later;
                channel += lanes;
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

    /// The true peak with nothing skipped: every oversampled point of the whole signal (and
    /// the reach either side) computed directly in f64, each local maximum refined.
    fn every_point_true_peak(x: &[f32]) -> f64 {
        let filter = Interpolator::new();
        let reach = HALF_TAPS as isize;
        let at = |n: isize| {
            usize::try_from(n)
                .ok()
                .and_then(|n| x.get(n))
                .map_or(0.0, |&v| f64::from(v))
        };
        let mut points = Vec::new();
        for m in -reach..x.len() as isize + reach {
            points.push(at(m).abs());
            for h in &filter.phases {
                let sum: f64 = (0..2 * HALF_TAPS)
                    .map(|j| f64::from(h[j]) * at(m + j as isize + 1 - reach))
                    .sum();
                points.push(sum.abs());
            }
        }
        let mut peak = points.iter().fold(0.0, |m: f64, &v| m.max(v));
        for w in points.windows(3) {
            let (a, b, c) = (w[0], w[1], w[2]);
            let curvature = a - 2.0 * b + c;
            if b >= a && b >= c && curvature < 0.0 {
                peak = peak.max(b - (a - c) * (a - c) / (8.0 * curvature));
            }
        }
        peak
    }

    #[test]
    fn skipping_quiet_blocks_and_vector_loops_read_what_every_point_reads() {
        let mut seed = 0x2545_f491u32;
        let mut noise = |len: usize, amplitude: f32| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * amplitude
                })
                .collect()
        };
        // Noise with a loud burst late (most blocks before it are checked, most after it
        // skipped), a tone and the burst alone, each of a length that ends mid-block.
        let mut late = noise(20_011, 0.1);
        late.splice(15_000..15_040, noise(40, 0.9));
        let signals = [late, sine(0.37, 0.2, 0.7, 9_999), noise(77, 0.9)];
        for (k, x) in signals.iter().enumerate() {
            let (read, every) = (true_peak(x), every_point_true_peak(x));
            let error_db = dbfs(read / every).abs();
            println!(
                "signal {k}: {:.4} dBTP, every point {:.4}",
                dbfs(read),
                dbfs(every)
            );
            assert!(error_db < 1e-4, "signal {k}: {error_db:.2e} dB apart");
        }
    }

    #[test]
    fn channels_weigh_alike_in_pairs_and_alone() {
        let rate = 48_000.0;
        let a = sine(0.01, 0.0, 0.5, 48_000);
        let b = sine(0.003, 1.0, 0.2, 48_000);
        let c = sine(0.07, 2.0, 0.9, 48_000);
        // c is weighed alone in the first order, in a pair in the second.
        let first = integrated_loudness(&[&a, &b, &c], rate).unwrap();
        let second = integrated_loudness(&[&c, &a, &b], rate).unwrap();
        assert!(
            (first - second).abs() < 1e-9,
            "{first} against {second} LUFS"
        );
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
