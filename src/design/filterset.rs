//! Assembles the whole chain after the upmix into one filter matrix per STFT bin: for each
//! of the three upmix channels (L', R', C) and each output, a complex gain. The audio thread
//! applies it as is; width is kept as a separate delta so that it can move at audio rate.

use super::beam::{self, BeamSpec};
use super::crossover::{self, FirWindow};
use super::ctc::{self, CtcDesign, CtcSpec};
use super::linalg::CMatrix;
use super::plant::{EarResponses, Plant};
use super::settings::{Mode, Settings};
use super::virtualizer::VirtualSpeaker;
use super::C64;
use crate::dsp::planar::{Planar, PlanarSlice};
use realfft::num_complex::Complex32;
use std::f64::consts::PI;

/// Number of upmix channels the filters read: L', R', C.
pub const UPMIX_CHANNELS: usize = 3;

/// Highest centre boost of the two-driver presence control (depth 1), dB.
pub const MAX_PRESENCE_DB: f64 = 6.0;

/// Where the cancellation target starts to fall back to the plain ratio at the top, Hz.
pub const TOP_TAPER_START_HZ: f64 = 7000.0;

/// Where the cancellation target has fallen back to the plain ratio, Hz.
pub const TOP_TAPER_END_HZ: f64 = 14000.0;

/// The STFT frame geometry at one sample rate. Everything scales with the rate, so the
/// latency in milliseconds and the frequency resolution stay the same from 22.05 to 384 kHz.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
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
    /// The layout for `sample_rate`: 1024-sample frames at 44.1/48 kHz, scaled by the
    /// power of two nearest to rate/48 kHz (clamped to ½…8).
    pub fn for_sample_rate(sample_rate: f64) -> Self {
        let octave = (sample_rate / 48_000.0).log2().round().clamp(-1.0, 3.0);
        let scale = 2f64.powf(octave);
        let frame_len = (1024.0 * scale) as usize;
        // 1 ms for the output stage, whose ear responses reach from 1 ms before the
        // head-centre arrival to 3 ms after it.
        let output_delay = frame_len * 3 / 64;
        Self {
            frame_len,
            hop: frame_len / 2,
            fft_len: 2 * frame_len,
            bulk_delay: frame_len / 2,
            output_delay,
        }
    }

    /// Number of FFT bins (DC to Nyquist).
    pub fn bins(&self) -> usize {
        self.fft_len / 2 + 1
    }

    /// Longest filter that convolves without wrapping: fft_len − frame_len + 1.
    pub fn fir_len(&self) -> usize {
        self.fft_len - self.frame_len + 1
    }

    /// Length of the designed filters: twice the bulk delay, so that they are centred on it.
    pub fn design_taps(&self) -> usize {
        2 * self.bulk_delay + 1
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
    /// Ear-level model for loudness compensation.
    pub loudness: LoudnessModel,
    /// Whether loudness compensation is applied.
    pub compensate_loudness: bool,
    /// Which parameter generation this set was designed for (see
    /// `SoundstageParams::design_generation`), so that an offline render can wait for it.
    pub generation: u64,
}

impl FilterSet {
    /// Index of element (bin, output, channel) in `base` and `width_delta`.
    pub fn index(&self, bin: usize, output: usize, channel: usize) -> usize {
        (output * UPMIX_CHANNELS + channel) * self.layout.bins() + bin
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

    /// The complex response of one element of the whole chain (plain feed included) at a
    /// width, in double precision for analysis.
    pub fn response(&self, bin: usize, output: usize, channel: usize, width: f64) -> C64 {
        let i = self.index(bin, output, channel);
        let c = |v: Complex32| C64::new(v.re as f64, v.im as f64);
        let g = self.output_gain(width);
        let plain = if plain_feed(self.outputs, output, channel) {
            let w =
                2.0 * PI * bin as f64 * self.layout.bulk_delay as f64 / self.layout.fft_len as f64;
            C64::from_polar(1.0, -w)
        } else {
            C64::new(0.0, 0.0)
        };
        // L = L' + C and R = R' + C: the sides reach channel 2 from both.
        let bins = self.layout.bins();
        let sides: C64 = [(0, channel != 1), (1, channel != 0)]
            .iter()
            .filter(|(_, reaches)| *reaches)
            .map(|&(side, _)| c(self.sides[side].get(output * bins + bin)))
            .sum();
        plain + (c(self.base.get(i)) + c(self.width_delta.get(i)) * width) * g + sides
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

/// What a design is made from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DesignInput {
    /// The settings (width is ignored: it is applied at audio rate).
    pub settings: Settings,
    /// Number of outputs.
    pub outputs: usize,
    /// Sample rate, Hz.
    pub sample_rate: f64,
}

/// A design and the intermediate results that reports and the editor plot.
#[derive(Debug)]
pub struct Design {
    /// What the audio thread runs.
    pub filters: FilterSet,
    /// Bin frequencies, Hz.
    pub freqs: Vec<f64>,
    /// The canceller (speakers and binaural modes).
    pub ctc: Option<CtcDesign>,
    /// The virtual speakers (speakers and headphone modes).
    pub virtual_speaker: Option<VirtualSpeaker>,
    /// The centre beam's limits (for any layout; unavailable on two drivers).
    pub beam: BeamSpec,
    /// The settings designed for.
    pub input: DesignInput,
    /// The plant's name.
    pub plant_name: String,
}

/// Share of the cancellation working band at `freq_hz` from the top: 1 below
/// [`TOP_TAPER_START_HZ`], 0 above [`TOP_TAPER_END_HZ`] (where head movements and pinnae
/// make cancellation useless). The bass crossover limits it at the bottom.
pub fn cancellation_top_share(freq_hz: f64) -> f64 {
    1.0 - super::bands::log_step(freq_hz, TOP_TAPER_START_HZ, TOP_TAPER_END_HZ)
}

/// Whether the plain feed routes upmix `channel` to `output`: L' to the leftmost output, R'
/// to the rightmost, C to both (so that L' + C and R' + C arrive as the input did).
pub fn plain_feed(outputs: usize, output: usize, channel: usize) -> bool {
    match channel {
        0 => output == 0,
        1 => output == outputs - 1,
        _ => output == 0 || output == outputs - 1,
    }
}

/// The plain feed as a matrix (outputs × upmix channels).
fn plain_matrix(outputs: usize) -> CMatrix {
    let mut m = CMatrix::zeros(outputs, UPMIX_CHANNELS);
    for out in 0..outputs {
        for ch in 0..UPMIX_CHANNELS {
            if plain_feed(outputs, out, ch) {
                m[(out, ch)] = C64::new(1.0, 0.0);
            }
        }
    }
    m
}

/// Designs the whole chain for `input` on `plant`.
pub fn design(input: &DesignInput, plant: &dyn Plant) -> Design {
    let s = &input.settings;
    let n = input.outputs;
    let layout = FrameLayout::for_sample_rate(input.sample_rate);
    let freqs = layout.bin_freqs(input.sample_rate);
    let geometry = s.geometry(n);
    let reference = geometry.reference();
    let ears: EarResponses = plant
        .ear_responses(&geometry, &freqs)
        .relative_to(reference.distance_m);
    let beam_spec = BeamSpec::new(n, s.spacing_m);
    let plain = plain_matrix(n);

    let plain_share = crossover::plain_share(layout, input.sample_rate, s.bass_crossover_hz);
    let uses_ctc = matches!(s.mode, Mode::Speakers | Mode::Binaural);
    let ctc = uses_ctc.then(|| {
        let spec = CtcSpec {
            cancellation_db: s.cancellation_db,
            boost_limit_db: s.boost_limit_db,
        };
        let top: Vec<f64> = freqs.iter().map(|&f| cancellation_top_share(f)).collect();
        ctc::design(&ears, &spec, &top, &plain_share)
    });
    let virtual_speaker =
        (s.mode != Mode::Binaural).then(|| VirtualSpeaker::new(s.virtual_angle_deg));
    let presence = 10f64.powf(MAX_PRESENCE_DB * s.depth.clamp(0.0, 1.0) / 20.0);
    let centre_delays = centre_alignment(&ears, s.mode, n);

    let bins = layout.bins();
    let mut base = vec![C64::new(0.0, 0.0); bins * n * UPMIX_CHANNELS];
    let mut delta = base.clone();
    let mut plain_complement = vec![C64::new(0.0, 0.0); bins];
    let at = |bin: usize, out: usize, ch: usize| (out * UPMIX_CHANNELS + ch) * bins + bin;
    for (k, &f) in freqs.iter().enumerate() {
        // The processed chain at this bin, before the bass crossover: full width and width 0.
        let mut full = CMatrix::zeros(n, UPMIX_CHANNELS);
        let mut zero = CMatrix::zeros(n, UPMIX_CHANNELS);
        let centre: Vec<C64> = if s.mode == Mode::Speakers && beam_spec.available() {
            beam::centre_weights(&beam_spec, f, s.depth)
                .iter()
                .zip(&centre_delays)
                .map(|(w, d)| C64::from_polar(2.0 * w, -2.0 * PI * f * d))
                .collect()
        } else {
            (0..n).map(|r| plain[(r, 2)] * presence).collect()
        };
        match s.mode {
            Mode::Speakers => {
                let c = &ctc
                    .as_ref()
                    .expect("speakers mode designs a canceller")
                    .filters[k];
                // Virtual crosstalk only where the physical crosstalk is cancelled.
                let share = cancellation_top_share(f);
                let cross = virtual_speaker
                    .expect("speakers mode has virtual speakers")
                    .contralateral(f)
                    * share;
                for r in 0..n {
                    full[(r, 0)] = c[(r, 0)] + c[(r, 1)] * cross;
                    full[(r, 1)] = c[(r, 1)] + c[(r, 0)] * cross;
                }
            }
            Mode::Headphones => {
                let cross = virtual_speaker
                    .expect("headphone mode has virtual speakers")
                    .contralateral(f);
                full[(0, 0)] = C64::new(1.0, 0.0);
                full[(n - 1, 0)] = cross;
                full[(n - 1, 1)] = C64::new(1.0, 0.0);
                full[(0, 1)] = cross;
            }
            Mode::Binaural => {
                let c = &ctc
                    .as_ref()
                    .expect("binaural mode designs a canceller")
                    .filters[k];
                for r in 0..n {
                    full[(r, 0)] = c[(r, 0)];
                    full[(r, 1)] = c[(r, 1)];
                }
            }
        }
        for r in 0..n {
            zero[(r, 0)] = plain[(r, 0)];
            zero[(r, 1)] = plain[(r, 1)];
            if s.mode == Mode::Binaural {
                // Binaural input has no phantom centre: C goes wherever L' and R' go, so the
                // upmix cancels out exactly.
                full[(r, 2)] = full[(r, 0)] + full[(r, 1)];
                zero[(r, 2)] = plain[(r, 2)];
            } else {
                full[(r, 2)] = centre[r];
                zero[(r, 2)] = centre[r];
            }
        }
        // The ideal step of the crossover; the FIR window turns it into the transition.
        if !crossover::processed_side(f, s.bass_crossover_hz) {
            continue;
        }
        let delay = C64::from_polar(
            1.0,
            -2.0 * PI * f * layout.bulk_delay as f64 / input.sample_rate,
        );
        for r in 0..n {
            for ch in 0..UPMIX_CHANNELS {
                base[at(k, r, ch)] = zero[(r, ch)] * delay;
                delta[at(k, r, ch)] = (full[(r, ch)] - zero[(r, ch)]) * delay;
            }
        }
        plain_complement[k] = delay;
    }
    let mut window = FirWindow::new(layout);
    for element in base
        .chunks_exact_mut(bins)
        .chain(delta.chunks_exact_mut(bins))
        .chain(std::iter::once(plain_complement.as_mut_slice()))
    {
        window.apply(element);
    }
    let loudness = loudness_model(&freqs, &ears, s.mode, n, &base, &delta, s.bass_crossover_hz);
    let to32 =
        |v: &Vec<C64>| Planar::collect(v.iter().map(|c| Complex32::new(c.re as f32, c.im as f32)));
    // The plain feed the processing replaces: L on the leftmost output, R on the rightmost.
    let mut sides = [
        vec![C64::new(0.0, 0.0); n * bins],
        vec![C64::new(0.0, 0.0); n * bins],
    ];
    for (side, output) in [(0, 0), (1, n - 1)] {
        for (k, v) in plain_complement.iter().enumerate() {
            sides[side][output * bins + k] = -v;
        }
    }
    let filters = FilterSet {
        layout,
        outputs: n,
        base: to32(&base),
        width_delta: to32(&delta),
        sides_used: (0..n).map(|o| [o == 0, o == n - 1]).collect(),
        sides: sides.each_ref().map(to32),
        ear_responses: super::simulate::ear_firs(&ears, layout, input.sample_rate, s.mode),
        centre_share: freqs
            .iter()
            .map(|&f| crossover::centre_share(f, s.bass_crossover_hz) as f32)
            .collect(),
        loudness,
        // NOTE: in binaural mode each ear already receives its channel at the recorded level
        // (the identity target); the crosstalk that plain stereo adds is not programme, so
        // there is nothing to match, and matching it would lift everything above the bass
        // crossover by the lost crosstalk energy: a shelf, i.e. colour.
        compensate_loudness: s.loudness_compensation && s.mode != Mode::Binaural,
        generation: 0,
    };
    Design {
        filters,
        freqs,
        ctc,
        virtual_speaker,
        beam: beam_spec,
        input: *input,
        plant_name: plant.name(),
    }
}

/// Delay alignment of the centre on a driver line: each driver's centre feed is delayed so
/// that it reaches the listener together with the side channels (which arrive as the plain
/// feed from the outer drivers does). On a pair the centre is the plain feed and needs none.
fn centre_alignment(ears: &EarResponses, mode: Mode, n: usize) -> Vec<f64> {
    if mode != Mode::Speakers || n < 3 {
        return vec![0.0; n];
    }
    let side = 0.5 * (ears.arrival(0, 0).1 + ears.arrival(1, n - 1).1);
    (0..n)
        .map(|d| side - 0.5 * (ears.arrival(0, d).1 + ears.arrival(1, d).1))
        .collect()
}

/// Ear power of a reference programme (uncorrelated sides plus a centred source, equal
/// power), pink-weighted over the processed band (above the crossover's transition, up to
/// 10 kHz), for the plain input and the processed chain.
fn loudness_model(
    freqs: &[f64],
    ears: &EarResponses,
    mode: Mode,
    n: usize,
    base: &[C64],
    delta: &[C64],
    crossover_hz: f64,
) -> LoudnessModel {
    let plain = plain_matrix(n);
    let bins = freqs.len();
    let at = |bin: usize, out: usize, ch: usize| (out * UPMIX_CHANNELS + ch) * bins + bin;
    let mut model = LoudnessModel {
        plain: 0.0,
        at_zero: 0.0,
        cross: 0.0,
        delta: 0.0,
    };
    let lowest = (crossover_hz + 2.0 * crossover::STEP_OFFSET_HZ).max(100.0);
    for (k, &f) in freqs.iter().enumerate() {
        if f < lowest || f > 10_000.0 {
            continue;
        }
        let weight = 1.0 / f;
        // Outputs to ears: the plant for speakers, the outer outputs themselves for headphones.
        let to_ear = |ear: usize, out: usize| -> C64 {
            if mode == Mode::Headphones {
                let ear_out = if ear == 0 { 0 } else { n - 1 };
                C64::new(if out == ear_out { 1.0 } else { 0.0 }, 0.0)
            } else {
                ears.get(k, ear, out)
            }
        };
        for ear in 0..2 {
            for ch in 0..UPMIX_CHANNELS {
                let mut e_plain = C64::new(0.0, 0.0);
                let mut e_base = C64::new(0.0, 0.0);
                let mut e_delta = C64::new(0.0, 0.0);
                for out in 0..n {
                    let t = to_ear(ear, out);
                    e_plain += t * plain[(out, ch)];
                    e_base += t * base[at(k, out, ch)];
                    e_delta += t * delta[at(k, out, ch)];
                }
                model.plain += weight * e_plain.norm_sqr();
                model.at_zero += weight * e_base.norm_sqr();
                model.cross += weight * (e_base.conj() * e_delta).re;
                model.delta += weight * e_delta.norm_sqr();
            }
        }
    }
    model
}
