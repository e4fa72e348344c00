//! The low-latency layout's bass crossover, in the time domain: a Linkwitz–Riley pair of the
//! 8th order (two 4th-order Butterworth filters in series on each side) splits the input
//! before the STFT. The high band goes into the STFT, the low band is the plain feed.
//!
//! Why in the time domain: the low-latency layout's filters have 80 taps before their bulk
//! delay and 304 after it, too few to hold either a linear-phase step this close to the
//! crossover (its pre-ringing leaks the plain feed into the cancelled band) or the long
//! tails of a Linkwitz–Riley pair (windowed, the pair's sum loses 9 dB at 50 Hz). As
//! recursive filters the pair is exact: the two sides sum to an allpass, so at width 0 the
//! output is the input through that allpass, flat in magnitude, and the processing below
//! the crossover is as far down as the high-pass takes it (56 dB at 120 Hz for a corner at
//! 270 Hz).
//!
//! The sections are state-variable filters in the trapezoidal (bilinear) form, which stay
//! smooth when the corner moves with a new design; [`response`] is their exact frequency
//! response, for analysis.

use realfft::num_complex::Complex;

/// The damping (1/Q) of the two sections of a 4th-order Butterworth filter.
const BUTTERWORTH_4_DAMPING: [f64; 2] = [
    0.765_366_864_730_179_8, // 2·sin(22.5°)
    1.847_759_065_022_573_5, // 2·sin(67.5°)
];

/// Highest corner, as a fraction of the sample rate, the split is tuned to (the tangent of
/// the bilinear warp stays finite and the sections stable).
const MAX_CORNER_RATIO: f64 = 0.45;

/// Lanes of the split's vector: left low, right low, left high, right high. All four run the
/// same sections (a Linkwitz–Riley pair's two sides are the same Butterworth filters), so one
/// vector operation advances all four chains.
const LANES: usize = 4;

/// Which lanes take a section's low-pass output (the others take its high-pass).
const LOW_LANE: [f32; LANES] = [1.0, 1.0, 0.0, 0.0];

/// Sections in each chain: two 4th-order Butterworth filters of two sections each.
const SECTIONS: usize = 4;

/// The four lanes as one value, so that each operation is one vector instruction.
#[derive(Clone, Copy, Debug)]
struct Lanes([f32; LANES]);

impl std::ops::Add for Lanes {
    type Output = Self;
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }
}

impl std::ops::Sub for Lanes {
    type Output = Self;
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] - other.0[i]))
    }
}

impl std::ops::Mul for Lanes {
    type Output = Self;
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] * other.0[i]))
    }
}

impl std::ops::Mul<f32> for Lanes {
    type Output = Self;
    #[inline(always)]
    fn mul(self, k: f32) -> Self {
        Self(self.0.map(|v| v * k))
    }
}

/// One second-order state-variable section's coefficients, and per lane how its output
/// (the low-pass `v2` or the high-pass `x − damping·v1 − v2`) is made of the input and the
/// two state terms `p`, `q` (where `v1 = p + a2·x` and `v2 = q + a3·x`).
#[derive(Clone, Copy, Debug)]
struct Section {
    a1: f32,
    a2: f32,
    a3: f32,
    from_input: Lanes,
    from_p: Lanes,
    from_q: Lanes,
}

impl Section {
    fn tuned(g: f64, damping: f64) -> Self {
        let a1 = 1.0 / (1.0 + g * (g + damping));
        let (a2, a3) = (g * a1, g * g * a1);
        let per_lane = |low: f64, high: f64| {
            Lanes(LOW_LANE.map(|is_low| if is_low == 1.0 { low } else { high } as f32))
        };
        Self {
            a1: a1 as f32,
            a2: a2 as f32,
            a3: a3 as f32,
            from_input: per_lane(a3, 1.0 - damping * a2 - a3),
            from_p: per_lane(0.0, -damping),
            from_q: per_lane(1.0, -1.0),
        }
    }
}

/// Where a filter set asks the engine to split: the corner at the set's sample rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitAt {
    /// The corner, Hz (the −6 dB point of both sides).
    pub corner_hz: f64,
    /// The sample rate the set was designed for, Hz.
    pub sample_rate: f64,
}

impl SplitAt {
    /// The split's (low-pass, high-pass) responses at `freq_hz`, see [`response`].
    pub fn response(&self, freq_hz: f64) -> (Complex<f64>, Complex<f64>) {
        response(freq_hz, self.corner_hz, self.sample_rate)
    }

    /// Whether both numbers are usable: finite, positive, the corner below Nyquist.
    pub fn is_valid(&self) -> bool {
        self.corner_hz.is_finite()
            && self.sample_rate.is_finite()
            && self.corner_hz > 0.0
            && self.corner_hz < self.sample_rate / 2.0
    }
}

/// The stereo Linkwitz–Riley split of the engine's input.
#[derive(Clone, Debug)]
pub struct BassSplit {
    sections: [Section; SECTIONS],
    /// Per section, the two integrator states of every lane.
    state: [[[f32; LANES]; 2]; SECTIONS],
    corner_hz: f64,
    sample_rate: f64,
}

/// The bilinear transform's prewarped corner: the analogue corner that lands on `corner_hz`.
fn warped(corner_hz: f64, sample_rate: f64) -> f64 {
    let ratio = (corner_hz / sample_rate).clamp(1e-6, MAX_CORNER_RATIO);
    (std::f64::consts::PI * ratio).tan()
}

impl BassSplit {
    /// A split at `corner_hz`, silent.
    pub fn new(corner_hz: f64, sample_rate: f64) -> Self {
        let mut split = Self {
            sections: [Section::tuned(0.0, 1.0); SECTIONS],
            state: [[[0.0; LANES]; 2]; SECTIONS],
            corner_hz: f64::NAN,
            sample_rate,
        };
        split.tune(corner_hz);
        split
    }

    /// The corner frequency the split is tuned to, Hz.
    pub fn corner_hz(&self) -> f64 {
        self.corner_hz
    }

    /// Moves the corner to `corner_hz`, keeping the filters' state (no allocation).
    pub fn tune(&mut self, corner_hz: f64) {
        let g = warped(corner_hz, self.sample_rate);
        for (i, section) in self.sections.iter_mut().enumerate() {
            *section = Section::tuned(g, BUTTERWORTH_4_DAMPING[i % 2]);
        }
        self.corner_hz = corner_hz;
    }

    /// Splits `input` (left, right) into its `low` and `high` bands (each as long as it).
    pub fn run(&mut self, input: [&[f32]; 2], low: [&mut [f32]; 2], high: [&mut [f32]; 2]) {
        let [low_left, low_right] = low;
        let [high_left, high_right] = high;
        let samples = input[0]
            .iter()
            .zip(input[1])
            .zip(low_left.iter_mut().zip(low_right.iter_mut()))
            .zip(high_left.iter_mut().zip(high_right.iter_mut()));
        // Copies in locals, with constant indices, so that the states stay in registers.
        let mut state: [[Lanes; 2]; SECTIONS] = self.state.map(|s| s.map(Lanes));
        let sections = self.sections;
        for (((l, r), (low_l, low_r)), (high_l, high_r)) in samples {
            let mut x = Lanes([*l, *r, *l, *r]);
            for i in 0..SECTIONS {
                let section = &sections[i];
                let [s1, s2] = state[i];
                // The state's parts first: from the input to the output is then one multiply
                // and one add per section, the chain every sample waits for.
                let p = s1 * section.a1 - s2 * section.a2;
                let q = s2 + s1 * section.a2 - s2 * section.a3;
                let v1 = p + x * section.a2;
                let v2 = q + x * section.a3;
                state[i] = [v1 * 2.0 - s1, v2 * 2.0 - s2];
                // Low lanes: v2. High lanes: x − damping·v1 − v2.
                x = x * section.from_input + p * section.from_p + q * section.from_q;
            }
            (*low_l, *low_r, *high_l, *high_r) = (x.0[0], x.0[1], x.0[2], x.0[3]);
        }
        self.state = state.map(|s| s.map(|lanes| lanes.0));
    }

    /// Forgets the input.
    pub fn reset(&mut self) {
        self.state = [[[0.0; LANES]; 2]; SECTIONS];
    }
}

/// The split's exact (low-pass, high-pass) responses at `freq_hz` for a corner at
/// `corner_hz`: the analogue Linkwitz–Riley pair at the bilinear transform's warped
/// frequency.
pub fn response(freq_hz: f64, corner_hz: f64, sample_rate: f64) -> (Complex<f64>, Complex<f64>) {
    let at = (std::f64::consts::PI * (freq_hz / sample_rate).clamp(0.0, 0.5 - 1e-9)).tan();
    let s = Complex::new(0.0, at / warped(corner_hz, sample_rate));
    let one = Complex::new(1.0, 0.0);
    let (mut low, mut high) = (one, one);
    for damping in BUTTERWORTH_4_DAMPING {
        let section = s * s + s * damping + one;
        low /= section;
        high *= s * s / section;
    }
    (low * low, high * high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split's steady-state gain at `freq_hz`, measured on a sine.
    fn measured(freq_hz: f64, corner_hz: f64) -> (f64, f64) {
        let rate = 48_000.0;
        let mut split = BassSplit::new(corner_hz, rate);
        let n = 48_000;
        let x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq_hz * i as f64 / rate).sin() as f32)
            .collect();
        let silent = vec![0.0; n];
        let (mut low, mut high) = (vec![0.0; n], vec![0.0; n]);
        let (mut low_r, mut high_r) = (vec![0.0; n], vec![0.0; n]);
        split.run(
            [&x, &silent],
            [&mut low, &mut low_r],
            [&mut high, &mut high_r],
        );
        assert!(
            low_r.iter().chain(&high_r).all(|&v| v == 0.0),
            "the channels stay apart"
        );
        let rms = |v: &[f32]| {
            (v[n / 2..].iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / (n / 2) as f64).sqrt()
                * 2f64.sqrt()
        };
        (rms(&low), rms(&high))
    }

    #[test]
    fn the_filters_have_the_response_the_analysis_uses() {
        for freq in [30.0, 120.0, 270.0, 500.0, 2000.0, 12_000.0] {
            let (low, high) = measured(freq, 270.0);
            let (l, h) = response(freq, 270.0, 48_000.0);
            for (got, want) in [(low, l.norm()), (high, h.norm())] {
                let db = |v: f64| 20.0 * v.max(1e-12).log10();
                assert!(
                    (db(got) - db(want)).abs() < 0.05 || db(want) < -100.0,
                    "{freq} Hz: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_sides_sum_to_an_allpass_and_cross_at_minus_6_db() {
        for freq in [20.0, 100.0, 270.0, 1000.0, 20_000.0] {
            let (l, h) = response(freq, 270.0, 48_000.0);
            assert!(((l + h).norm() - 1.0).abs() < 1e-9, "{freq} Hz");
        }
        let (l, h) = response(270.0, 270.0, 48_000.0);
        assert!((l.norm() - 0.5).abs() < 1e-9 && (h.norm() - 0.5).abs() < 1e-9);
        let (_, h) = response(120.0, 270.0, 48_000.0);
        assert!(20.0 * h.norm().log10() < -55.0, "{}", h.norm());
    }
}
