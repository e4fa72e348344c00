//! The contract between design and the audio thread: the frame geometry, the filter set a
//! design produces and the engine runs, the loudness model that follows width at audio rate,
//! and the routing rule both sides share (the plain feed: L on the leftmost output, R on the
//! rightmost). `design/` writes these; `dsp/` reads them and knows nothing else of design.

use super::bass_split::SplitAt;
use super::planar::{Planar, PlanarSlice};
use realfft::num_complex::{Complex, Complex32};
use std::f64::consts::PI;

/// Complex numbers in double precision, for analysing a filter set.
pub type Complex64 = Complex<f64>;

/// Per-call control values, the part of a design that moves at audio rate: the engine glides
/// to them sample by sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Controls {
    /// Width, 0 to 1.
    pub width: f32,
    /// Linear output gain of the processed signal.
    pub gain: f32,
    /// Whether the dry input is output instead of the processed signal.
    pub bypass: bool,
    /// Whether the outer outputs carry the listener's ears (the driver feeds through the
    /// ear responses) instead of the driver feeds: the headphone preview.
    pub preview: bool,
}

/// Number of upmix channels the filters read: L', R', C.
pub const UPMIX_CHANNELS: usize = 3;

/// Frames over which a new filter set fades in at the normal layout (about 21 ms at 48 kHz);
/// every layout fades over the same time (see [`FrameLayout::crossfade_frames`]).
pub const CROSSFADE_FRAMES: usize = 2;

/// How much delay the engine may add: the trade between latency and the length of the
/// filters (and so the depth of the bass crossover and the CPU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LatencyMode {
    /// 1024-sample frames at 48 kHz, 1584 samples (33 ms) of latency: a master bus with
    /// delay compensation.
    #[default]
    Normal,
    /// 128-sample frames at 48 kHz, 256 samples (5.3 ms): live listening, monitoring while
    /// recording, games, calls, a tracked listener. The bass crossover is a Linkwitz–Riley
    /// pair in the time domain instead of a linear-phase step in the filters, and the CPU is
    /// about twice normal's.
    Low,
}

impl LatencyMode {
    /// Every mode, in parameter order.
    pub const ALL: [LatencyMode; 2] = [LatencyMode::Normal, LatencyMode::Low];

    /// The lowercase identifier used by the CLI, the report and the parameter.
    pub fn id(self) -> &'static str {
        match self {
            LatencyMode::Normal => "normal",
            LatencyMode::Low => "low",
        }
    }

    /// The mode a switch goes to: the engine of the other mode is kept ready, so that a
    /// switch plays at once.
    pub fn other(self) -> LatencyMode {
        match self {
            LatencyMode::Normal => LatencyMode::Low,
            LatencyMode::Low => LatencyMode::Normal,
        }
    }

    /// How many times shorter this mode's frames are than normal's.
    fn frame_divisor(self) -> usize {
        match self {
            LatencyMode::Normal => 1,
            LatencyMode::Low => 8,
        }
    }
}

/// The STFT frame geometry at one sample rate and latency mode. Everything scales with the
/// rate by powers of two, so the latency and the frequency resolution stay within that
/// rounding of their 48 kHz values from 8 to 768 kHz.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    /// Which trade of latency against filter length this is.
    pub mode: LatencyMode,
    /// Analysis window length (Hann), samples.
    pub frame_len: usize,
    /// Hop between frames (half the window: Hann at 50 % overlap sums to one).
    pub hop: usize,
    /// FFT length: the frame plus room for the filters without circular wrap.
    pub fft_len: usize,
    /// Common delay of every filter (the modelling delay of the inversions), samples.
    pub bulk_delay: usize,
    /// Delay of the output stage after the STFT: half the length of the ear-response FIRs
    /// that the headphone preview applies there (a plain delay otherwise), samples.
    pub output_delay: usize,
}

impl FrameLayout {
    /// The layout for `sample_rate` in `mode`, scaled by the power of two nearest to
    /// rate/48 kHz (⅛…16, the ends of [`crate::limits::SAMPLE_RATES_HZ`]).
    ///
    /// Normal: 1024-sample frames at 44.1/48 kHz (128 at 8 kHz, 16384 at 768 kHz) in a
    /// 2048-point FFT, filters centred on a bulk delay of half a frame; latency 24.8 to
    /// 35.9 ms at every accepted rate. Low: 128-sample frames in a 512-point FFT, whose
    /// 385-tap filters keep 80 taps before the bulk delay (the inversions' pre-ringing) and
    /// 304 after it (the plant's decay); latency 256 samples at 48 kHz, 4.0 to 5.8 ms.
    /// Both keep the same 1 ms output stage.
    pub fn new(sample_rate: f64, mode: LatencyMode) -> Self {
        let octave = (sample_rate / 48_000.0).log2().round().clamp(-3.0, 4.0);
        let scale = 2f64.powf(octave);
        let normal_frame_len = (1024.0 * scale) as usize;
        // 1 ms for the output stage, whose ear responses reach from 1 ms before the
        // head-centre arrival to 3 ms after it.
        let output_delay = normal_frame_len * 3 / 64;
        let frame_len = normal_frame_len / mode.frame_divisor();
        let (fft_len, bulk_delay) = match mode {
            LatencyMode::Normal => (2 * frame_len, frame_len / 2),
            LatencyMode::Low => (4 * frame_len, frame_len * 5 / 8),
        };
        Self {
            mode,
            frame_len,
            hop: frame_len / 2,
            fft_len,
            bulk_delay,
            output_delay,
        }
    }

    /// Frames over which a new filter set fades in: [`CROSSFADE_FRAMES`] of the normal
    /// layout's, so that a fade takes the same time in every mode.
    pub fn crossfade_frames(&self) -> usize {
        CROSSFADE_FRAMES * self.mode.frame_divisor()
    }

    /// Number of FFT bins (DC to Nyquist).
    pub fn bins(&self) -> usize {
        self.fft_len / 2 + 1
    }

    /// Longest filter that convolves without wrapping: fft_len − frame_len + 1.
    pub fn fir_len(&self) -> usize {
        self.fft_len - self.frame_len + 1
    }

    /// Length of the designed filters: all the room the convolution has, [`Self::fir_len`]
    /// (in the normal layout twice the bulk delay, so that they are centred on it).
    pub fn design_taps(&self) -> usize {
        self.fir_len()
    }

    /// Length of the output stage's ear-response FIRs (the headphone preview): from the
    /// output delay before the head-centre arrival (the near ear is earlier) to three times
    /// that after it (the far ear, and drivers further away than the array centre, later).
    pub fn ear_taps(&self) -> usize {
        4 * self.output_delay
    }

    /// Total latency of the plugin: the frame (overlap-add), the bulk filter delay and the
    /// output stage.
    pub fn latency(&self) -> usize {
        self.frame_len + self.bulk_delay + self.output_delay
    }

    /// Centre frequency of every bin at `sample_rate`.
    pub fn bin_freqs(&self, sample_rate: f64) -> Vec<f64> {
        (0..self.bins())
            .map(|k| k as f64 * sample_rate / self.fft_len as f64)
            .collect()
    }
}

/// How loud the processed chain is at the ears compared with the plain input, as a
/// quadratic in width, so that loudness compensation follows width at audio rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoudnessModel {
    /// Ear power of the plain input.
    pub plain: f64,
    /// Ear power at width 0.
    pub at_zero: f64,
    /// Cross term: power(width) = at_zero + 2·cross·width + delta·width².
    pub cross: f64,
    /// Power of the width delta alone.
    pub delta: f64,
}

impl LoudnessModel {
    /// Gain that brings the processed chain back to the plain input's ear level.
    pub fn compensation(&self, width: f64) -> f64 {
        let p = self.at_zero + 2.0 * self.cross * width + self.delta * width * width;
        if p > 1e-30 && self.plain > 1e-30 {
            (self.plain / p).sqrt().clamp(0.1, 10.0)
        } else {
            1.0
        }
    }
}

/// Everything the audio thread needs to run one design.
///
/// The engine outputs the delayed input (the plain feed: L to the leftmost output, R to the
/// rightmost) plus what its STFT adds. Per bin the STFT applies to upmix channel c for output
/// n `g·(base + width·delta)`, where g is the loudness compensation, and adds `side[0]` times
/// the input's L and `side[1]` times its R, unscaled by g. Normally the sides take the plain
/// feed away above the bass crossover, so that the processed chain replaces it there; below
/// the crossover all of it vanishes, so the output there is the input. (The headphone
/// preview uses the sides to carry what the plant makes of the plain feed.)
#[derive(Clone, Debug)]
pub struct FilterSet {
    /// Frame geometry these filters were designed for.
    pub layout: FrameLayout,
    /// Number of outputs (drivers or, in headphone mode, ears on the outer outputs).
    pub outputs: usize,
    /// `[output][upmix channel][bin]`: the processed chain at width 0, above the crossover.
    /// Each element's bins are contiguous, so the engine streams through them.
    pub base: Planar,
    /// `[output][upmix channel][bin]`, added per unit of width.
    pub width_delta: Planar,
    /// `[output][bin]` each: what the input's L (`[0]`) and R (`[1]`) add to each output,
    /// whatever the loudness gain.
    pub sides: [Planar; 2],
    /// Per output, which of the two sides is not all zero (the engine skips the others).
    pub sides_used: Vec<[bool; 2]>,
    /// `[ear][driver][tap]`: the ear responses of the design's listener (relative to the
    /// reference path, band-limited like the simulated listener, centred on the output
    /// delay), time-reversed so that the output stage's convolutions are plain dot products.
    /// The headphone preview hears the driver feeds through them.
    pub ear_responses: Vec<f32>,
    /// Per bin, how much of the upmix's centre is extracted (none below the crossover).
    pub centre_share: Vec<f32>,
    /// Where the engine splits the input in the time domain (the low-latency layout's bass
    /// crossover, see [`crate::dsp::bass_split`]), Hz: the STFT then sees the high band and
    /// the plain feed is the low band. `None`: the STFT sees the whole input and the plain
    /// feed is the input (the filters hold the crossover).
    pub bass_split: Option<SplitAt>,
    /// Ear-level model for loudness compensation.
    pub loudness: LoudnessModel,
    /// Whether loudness compensation is applied.
    pub compensate_loudness: bool,
    /// Which parameter generation this set was designed for (see
    /// `SoundstageParams::design_generation`), so that an offline render can wait for it.
    pub generation: u64,
}

impl FilterSet {
    /// Replaces every subnormal coefficient (below 1.2e-38, 700 dB under any that matters)
    /// by zero, so that the engine never reads a subnormal operand (see `dsp::denormals`).
    pub fn flush_subnormals(&mut self) {
        let flush = |v: &mut f32| {
            if v.is_subnormal() {
                *v = 0.0;
            }
        };
        for p in [&mut self.base, &mut self.width_delta] {
            p.re.iter_mut().chain(p.im.iter_mut()).for_each(flush);
        }
        for p in &mut self.sides {
            p.re.iter_mut().chain(p.im.iter_mut()).for_each(flush);
        }
        self.ear_responses.iter_mut().for_each(flush);
        self.centre_share.iter_mut().for_each(flush);
    }

    /// Whether every coefficient is a finite number: one NaN in a set would reach every
    /// output, so neither the designer nor the engine lets such a set play.
    pub fn is_finite(&self) -> bool {
        let planars = [
            &self.base,
            &self.width_delta,
            &self.sides[0],
            &self.sides[1],
        ];
        let loudness = &self.loudness;
        planars
            .iter()
            .all(|p| p.re.iter().chain(&p.im).all(|v| v.is_finite()))
            && self.ear_responses.iter().all(|v| v.is_finite())
            && self.centre_share.iter().all(|v| v.is_finite())
            && self.bass_split.is_none_or(|split| split.is_valid())
            && [
                loudness.plain,
                loudness.at_zero,
                loudness.cross,
                loudness.delta,
            ]
            .iter()
            .all(|v| v.is_finite())
    }

    /// A set for `layout` and `outputs` that adds nothing to the plain feed: the engine then
    /// plays the input, delayed. What a routing set built by hand starts from.
    pub fn plain(layout: FrameLayout, outputs: usize) -> Self {
        let bins = layout.bins();
        let zeros = || Planar::zeros(outputs * UPMIX_CHANNELS * bins);
        FilterSet {
            layout,
            outputs,
            base: zeros(),
            width_delta: zeros(),
            sides: [Planar::zeros(outputs * bins), Planar::zeros(outputs * bins)],
            sides_used: vec![[false; 2]; outputs],
            ear_responses: vec![0.0; 2 * outputs * layout.ear_taps()],
            centre_share: vec![0.0; bins],
            bass_split: None,
            loudness: LoudnessModel {
                plain: 1.0,
                at_zero: 1.0,
                cross: 0.0,
                delta: 0.0,
            },
            compensate_loudness: false,
            generation: 0,
        }
    }

    /// Index of element (bin, output, channel) in `base` and `width_delta`.
    pub fn index(&self, bin: usize, output: usize, channel: usize) -> usize {
        element_index(self.layout.bins(), bin, output, channel)
    }

    fn row<'a>(&self, values: &'a Planar, output: usize) -> [PlanarSlice<'a>; UPMIX_CHANNELS] {
        let bins = self.layout.bins();
        std::array::from_fn(|c| values.range((output * UPMIX_CHANNELS + c) * bins, bins))
    }

    /// The width-0 chain of one output, per upmix channel, all bins.
    pub fn base_row(&self, output: usize) -> [PlanarSlice<'_>; UPMIX_CHANNELS] {
        self.row(&self.base, output)
    }

    /// The width delta of one output, per upmix channel, all bins.
    pub fn delta_row(&self, output: usize) -> [PlanarSlice<'_>; UPMIX_CHANNELS] {
        self.row(&self.width_delta, output)
    }

    /// The time-reversed response from `driver` to `ear` (see `ear_responses`).
    pub fn ear_response(&self, ear: usize, driver: usize) -> &[f32] {
        let taps = self.layout.ear_taps();
        let start = (ear * self.outputs + driver) * taps;
        &self.ear_responses[start..start + taps]
    }

    /// What input side `side` (0: L, 1: R) adds to `output`, all bins.
    pub fn side_row(&self, side: usize, output: usize) -> PlanarSlice<'_> {
        let bins = self.layout.bins();
        self.sides[side].range(output * bins, bins)
    }

    /// The complex response of one element of the whole chain (plain feed and bass split
    /// included) at a width, in double precision for analysis.
    pub fn response(&self, bin: usize, output: usize, channel: usize, width: f64) -> Complex64 {
        let i = self.index(bin, output, channel);
        let c = |v: Complex32| Complex64::new(v.re as f64, v.im as f64);
        let g = self.output_gain(width);
        let plain = if plain_feed(self.outputs, output, channel) {
            let w =
                2.0 * PI * bin as f64 * self.layout.bulk_delay as f64 / self.layout.fft_len as f64;
            Complex64::from_polar(1.0, -w)
        } else {
            Complex64::new(0.0, 0.0)
        };
        // L = L' + C and R = R' + C: the sides reach channel 2 from both.
        let bins = self.layout.bins();
        let sides: Complex64 = [(0, channel != 1), (1, channel != 0)]
            .iter()
            .filter(|(_, reaches)| *reaches)
            .map(|&(side, _)| c(self.sides[side].get(output * bins + bin)))
            .sum();
        let processed = (c(self.base.get(i)) + c(self.width_delta.get(i)) * width) * g;
        match self.bass_split {
            None => plain + processed + sides,
            Some(_) => {
                let (low, high) = self.split_response(bin);
                plain * low + (processed + sides) * high
            }
        }
    }

    /// The bass split's (low-pass, high-pass) responses at `bin`: what the plain feed and the
    /// STFT's output are each multiplied by, (1, 1) when the set does not split.
    pub fn split_response(&self, bin: usize) -> (Complex64, Complex64) {
        match self.bass_split {
            None => (Complex64::new(1.0, 0.0), Complex64::new(1.0, 0.0)),
            Some(split) => {
                split.response(bin as f64 * split.sample_rate / self.layout.fft_len as f64)
            }
        }
    }

    /// The loudness-compensation gain at `width` (1 when compensation is off).
    pub fn output_gain(&self, width: f64) -> f64 {
        if self.compensate_loudness {
            self.loudness.compensation(width)
        } else {
            1.0
        }
    }
}

/// Index of element (bin, output, channel) in a `[output][upmix channel][bin]` layout of
/// `bins` bins: the layout of [`FilterSet::base`] and [`FilterSet::width_delta`].
pub fn element_index(bins: usize, bin: usize, output: usize, channel: usize) -> usize {
    (output * UPMIX_CHANNELS + channel) * bins + bin
}

/// Whether the plain feed routes upmix `channel` to `output`: L' to the leftmost output, R'
/// to the rightmost, C to both (so that L' + C and R' + C arrive as the input did).
pub fn plain_feed(outputs: usize, output: usize, channel: usize) -> bool {
    match channel {
        0 | 1 => output == side_output(channel, outputs),
        _ => plain_side(output, outputs).is_some(),
    }
}

/// The output the input's side `side` (0: L, 1: R) plays on unprocessed: the leftmost output
/// for L, the rightmost for R.
pub fn side_output(side: usize, outputs: usize) -> usize {
    if side == 0 {
        0
    } else {
        outputs - 1
    }
}

/// Which input side (0: L, 1: R) plays unprocessed on `output`: L on the leftmost output, R
/// on the rightmost, none on the inner outputs of a driver line.
pub fn plain_side(output: usize, outputs: usize) -> Option<usize> {
    (0..2).find(|&side| side_output(side, outputs) == output)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A set for the 48 kHz layout and two outputs that adds nothing to the plain feed (the
    /// engine then plays the input, delayed), tagged with `generation`.
    pub fn filter_set(generation: u64) -> Box<FilterSet> {
        let layout = FrameLayout::new(48_000.0, LatencyMode::Normal);
        Box::new(FilterSet {
            generation,
            ..FilterSet::plain(layout, 2)
        })
    }

    #[test]
    fn l_plays_on_the_leftmost_output_and_r_on_the_rightmost() {
        for outputs in 2..=4 {
            assert_eq!(plain_side(0, outputs), Some(0));
            assert_eq!(plain_side(outputs - 1, outputs), Some(1));
            for inner in 1..outputs - 1 {
                assert_eq!(plain_side(inner, outputs), None);
            }
        }
    }
}
