//! Assembles the whole chain after the upmix into one filter matrix per STFT bin: for each
//! of the three upmix channels (L', R', C) and each output, a complex gain. The audio thread
//! applies it as is; width is kept as a separate delta so that it can move at audio rate.

use crate::design::config::settings::{Mode, Settings};
use crate::design::filters::beam::{self, BeamSpec};
use crate::design::filters::crossover::{self, FirWindow};
use crate::design::filters::ctc::{self, CtcDesign, CtcSpec};
use crate::design::filters::linalg::CMatrix;
use crate::design::filters::virtualizer::VirtualSpeaker;
use crate::design::model::plant::{EarResponses, Plant};
use crate::design::model::zone;
use crate::design::C64;
use crate::dsp::bass_split::SplitAt;
use crate::dsp::contract::{
    element_index, plain_feed, side_output, FilterSet, FrameLayout, LoudnessModel, UPMIX_CHANNELS,
};
use crate::dsp::planar::Planar;
use realfft::num_complex::Complex32;
use std::f64::consts::PI;

/// Highest centre boost of the two-driver presence control (depth 1), dB.
pub const MAX_PRESENCE_DB: f64 = 6.0;

/// Where the cancellation target starts to fall back to the plain ratio at the top, Hz.
pub const TOP_TAPER_START_HZ: f64 = 7000.0;

/// Where the cancellation target has fallen back to the plain ratio, Hz.
pub const TOP_TAPER_END_HZ: f64 = 14000.0;

/// The band the loudness model weighs (above the crossover's transition), Hz: where the
/// programme's loudness lives and the processing acts.
pub const LOUDNESS_BAND_HZ: (f64, f64) = (100.0, 10_000.0);

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

impl DesignInput {
    /// The frame layout the filters are designed for: the rate's, in the settings' latency
    /// mode.
    pub fn layout(&self) -> FrameLayout {
        FrameLayout::new(self.sample_rate, self.settings.latency)
    }
}

/// A design and the intermediate results that reports and the editor plot.
#[derive(Debug)]
pub struct Design {
    /// What the audio thread runs.
    pub filters: FilterSet,
    /// Bin frequencies, Hz.
    pub freqs: Vec<f64>,
    /// What the mode designed for the sides.
    pub mode: ModeDesign,
    /// The centre beam's limits (for any layout; unavailable on two drivers).
    pub beam: BeamSpec,
    /// The settings designed for.
    pub input: DesignInput,
    /// The plant's name.
    pub plant_name: String,
    /// Length of the designed FIRs: the layout's [`FrameLayout::design_taps`], or fewer for
    /// a device (see [`design_shortened`]).
    pub taps: usize,
}

impl Design {
    /// Where this design's canceller searches ended (see [`design_from`]), for a design of a
    /// nearby pose to start from; `None` without a canceller.
    pub fn search_start(&self) -> Option<&[[f64; 2]]> {
        self.mode.ctc().map(|c| c.log_beta.as_slice())
    }

    /// [`Self::search_start`], taken out of the design (which keeps its filters and figures).
    pub fn take_search_start(&mut self) -> Option<Vec<[f64; 2]>> {
        self.mode.ctc_mut().map(|c| std::mem::take(&mut c.log_beta))
    }
}

/// Share of the cancellation working band at `freq_hz` from the top: 1 below
/// [`TOP_TAPER_START_HZ`], 0 above [`TOP_TAPER_END_HZ`] (where head movements and pinnae
/// make cancellation useless). The bass crossover limits it at the bottom.
pub fn cancellation_top_share(freq_hz: f64) -> f64 {
    1.0 - crate::design::filters::bands::log_step(freq_hz, TOP_TAPER_START_HZ, TOP_TAPER_END_HZ)
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

/// What a mode designs for the sides, beside the centre every mode has. One variant per mode,
/// so that a mode without a canceller cannot be asked for one.
#[derive(Debug)]
pub enum ModeDesign {
    /// Virtual speakers through crosstalk cancellation.
    Speakers {
        /// The canceller.
        ctc: CtcDesign,
        /// The virtual speakers.
        virtual_speaker: VirtualSpeaker,
    },
    /// The crosstalk of speakers at the virtual angle, simulated; nothing cancelled.
    Headphones {
        /// The virtual speakers.
        virtual_speaker: VirtualSpeaker,
    },
    /// Crosstalk cancellation alone: each ear hears its own channel.
    Binaural {
        /// The canceller.
        ctc: CtcDesign,
    },
}

impl ModeDesign {
    /// Designs the parts of `mode` for the ears `ears` at the bins `freqs`, the canceller
    /// holding at the listening zone's other poses `zone` too, its searches starting from
    /// `start` (see [`design_from`]).
    fn new(
        s: &Settings,
        ears: &EarResponses,
        zone: &[EarResponses],
        freqs: &[f64],
        plain_share: &[f64],
        start: Option<&[[f64; 2]]>,
    ) -> Self {
        let canceller = || {
            let spec = CtcSpec {
                cancellation_db: s.cancellation_db,
                boost_limit_db: s.boost_limit_db,
            };
            let top: Vec<f64> = freqs.iter().map(|&f| cancellation_top_share(f)).collect();
            ctc::design(ears, zone, &spec, &top, plain_share, start)
        };
        let virtual_speaker = || VirtualSpeaker::new(s.virtual_angle_deg);
        match s.mode {
            Mode::Speakers => ModeDesign::Speakers {
                ctc: canceller(),
                virtual_speaker: virtual_speaker(),
            },
            Mode::Headphones => ModeDesign::Headphones {
                virtual_speaker: virtual_speaker(),
            },
            Mode::Binaural => ModeDesign::Binaural { ctc: canceller() },
        }
    }

    /// The canceller (speakers and binaural modes).
    pub fn ctc(&self) -> Option<&CtcDesign> {
        match self {
            ModeDesign::Speakers { ctc, .. } | ModeDesign::Binaural { ctc } => Some(ctc),
            ModeDesign::Headphones { .. } => None,
        }
    }

    /// The canceller, to take parts of it.
    fn ctc_mut(&mut self) -> Option<&mut CtcDesign> {
        match self {
            ModeDesign::Speakers { ctc, .. } | ModeDesign::Binaural { ctc } => Some(ctc),
            ModeDesign::Headphones { .. } => None,
        }
    }

    /// The virtual speakers (speakers and headphone modes).
    pub fn virtual_speaker(&self) -> Option<VirtualSpeaker> {
        match self {
            ModeDesign::Speakers {
                virtual_speaker, ..
            }
            | ModeDesign::Headphones { virtual_speaker } => Some(*virtual_speaker),
            ModeDesign::Binaural { .. } => None,
        }
    }

    /// The full-width chain of the sides at bin `k` (frequency `f`): columns L' and R' of
    /// `full` (outputs × upmix channels).
    fn sides(&self, k: usize, f: f64, full: &mut CMatrix) {
        let n = full.rows;
        match self {
            ModeDesign::Speakers {
                ctc,
                virtual_speaker,
            } => {
                let c = &ctc.filters[k];
                // Virtual crosstalk only where the physical crosstalk is cancelled.
                let cross = virtual_speaker.contralateral(f) * cancellation_top_share(f);
                for r in 0..n {
                    full[(r, 0)] = c[(r, 0)] + c[(r, 1)] * cross;
                    full[(r, 1)] = c[(r, 1)] + c[(r, 0)] * cross;
                }
            }
            ModeDesign::Headphones { virtual_speaker } => {
                let cross = virtual_speaker.contralateral(f);
                let (left, right) = (side_output(0, n), side_output(1, n));
                full[(left, 0)] = C64::new(1.0, 0.0);
                full[(right, 0)] = cross;
                full[(right, 1)] = C64::new(1.0, 0.0);
                full[(left, 1)] = cross;
            }
            ModeDesign::Binaural { ctc } => {
                let c = &ctc.filters[k];
                for r in 0..n {
                    full[(r, 0)] = c[(r, 0)];
                    full[(r, 1)] = c[(r, 1)];
                }
            }
        }
    }
}

/// The per-bin spectra of a design before the FIR window, laid out like the filter set's
/// (`[output][upmix channel][bin]`), in double precision.
struct ChainSpectra {
    /// The processed chain at width 0, above the crossover.
    base: Vec<C64>,
    /// Added per unit of width.
    delta: Vec<C64>,
    /// Per bin, the plain feed that the processed chain replaces above the crossover.
    plain_complement: Vec<C64>,
}

/// Designs the whole chain for `input` on `plant`.
pub fn design(input: &DesignInput, plant: &dyn Plant) -> Design {
    design_from(input, plant, None)
}

/// Designs the whole chain for `input` on `plant`, the canceller's searches starting where a
/// previous design's ended (`start`: its [`CtcDesign::log_beta`]), which makes a design
/// for a nearby pose three times cheaper (a tracked head's designs follow one another).
pub fn design_from(input: &DesignInput, plant: &dyn Plant, start: Option<&[[f64; 2]]>) -> Design {
    design_windowed(input, plant, start, FirWindow::new(input.layout()))
}

/// Designs the whole chain for `input` on `plant` as [`design`] does, with filters of only
/// `taps` taps (see [`FirWindow::with_taps`]): what a device's DSP with less room than the
/// engine would run. The engine plays such a set as it plays any other.
pub fn design_shortened(input: &DesignInput, plant: &dyn Plant, taps: usize) -> Design {
    design_windowed(
        input,
        plant,
        None,
        FirWindow::with_taps(input.layout(), taps),
    )
}

/// Designs the whole chain, its spectra windowed into FIRs by `window`.
fn design_windowed(
    input: &DesignInput,
    plant: &dyn Plant,
    start: Option<&[[f64; 2]]>,
    mut window: FirWindow,
) -> Design {
    let s = &input.settings;
    let n = input.outputs;
    let layout = input.layout();
    let freqs = layout.bin_freqs(input.sample_rate);
    let geometry = s.geometry(n);
    let reference = geometry.reference().distance_m;
    let ears: EarResponses = plant
        .ear_responses(&geometry, &freqs)
        .relative_to(reference);
    // Only a canceller holds to a zone: the other poses' plants are not wanted otherwise.
    let zone: Vec<EarResponses> = if s.mode == Mode::Headphones {
        Vec::new()
    } else {
        zone::poses(&geometry, s.zone_m, plant)
            .iter()
            .skip(1)
            .map(|pose| {
                plant
                    .ear_responses(&pose.geometry, &freqs)
                    .relative_to(reference)
            })
            .collect()
    };
    let beam_spec = BeamSpec::new(n, s.spacing_m);
    let plain_share = crossover::plain_share(
        layout,
        input.sample_rate,
        s.bass_crossover_hz,
        window.taps(),
    );
    let mode = ModeDesign::new(s, &ears, &zone, &freqs, &plain_share, start);
    let mut spectra = chain_spectra(input, layout, &freqs, &ears, &beam_spec, &mode);
    let bins = layout.bins();
    for element in spectra
        .base
        .chunks_exact_mut(bins)
        .chain(spectra.delta.chunks_exact_mut(bins))
        .chain(std::iter::once(spectra.plain_complement.as_mut_slice()))
    {
        window.apply(element);
    }
    let mut filters = filter_set(input, layout, &freqs, &ears, &spectra);
    filters.flush_subnormals();
    Design {
        filters,
        freqs,
        mode,
        beam: beam_spec,
        input: *input,
        plant_name: plant.name(),
        taps: window.taps(),
    }
}

/// The chain at every bin: the sides from the mode's parts, the centre from the beam (on a
/// driver line in speakers mode) or the presence control, and the bass crossover's ideal
/// step with the bulk delay.
fn chain_spectra(
    input: &DesignInput,
    layout: FrameLayout,
    freqs: &[f64],
    ears: &EarResponses,
    beam_spec: &BeamSpec,
    mode: &ModeDesign,
) -> ChainSpectra {
    let s = &input.settings;
    let n = input.outputs;
    let plain = plain_matrix(n);
    let presence = 10f64.powf(MAX_PRESENCE_DB * s.depth.clamp(0.0, 1.0) / 20.0);
    let centre_delays = centre_alignment(ears, s.mode, n);
    let bins = layout.bins();
    let mut out = ChainSpectra {
        base: vec![C64::new(0.0, 0.0); bins * n * UPMIX_CHANNELS],
        delta: vec![C64::new(0.0, 0.0); bins * n * UPMIX_CHANNELS],
        plain_complement: vec![C64::new(0.0, 0.0); bins],
    };
    let at = |bin: usize, out: usize, ch: usize| element_index(bins, bin, out, ch);
    for (k, &f) in freqs.iter().enumerate() {
        // The processed chain at this bin, before the bass crossover: full width and width 0.
        let mut full = CMatrix::zeros(n, UPMIX_CHANNELS);
        let mut zero = CMatrix::zeros(n, UPMIX_CHANNELS);
        let centre: Vec<C64> = if s.mode == Mode::Speakers && beam_spec.available() {
            beam::centre_weights(beam_spec, f, s.depth)
                .iter()
                .zip(&centre_delays)
                .map(|(w, d)| C64::from_polar(2.0 * w, -2.0 * PI * f * d))
                .collect()
        } else {
            (0..n).map(|r| plain[(r, 2)] * presence).collect()
        };
        mode.sides(k, f, &mut full);
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
        // The ideal step of the crossover where the filters hold it; the FIR window turns it
        // into the transition. (Otherwise the engine splits the input before the STFT.)
        let in_filters = crossover::in_filters(layout.mode);
        if in_filters && !crossover::processed_side(f, s.bass_crossover_hz) {
            continue;
        }
        let delay = C64::from_polar(
            1.0,
            -2.0 * PI * f * layout.bulk_delay as f64 / input.sample_rate,
        );
        for r in 0..n {
            for ch in 0..UPMIX_CHANNELS {
                out.base[at(k, r, ch)] = zero[(r, ch)] * delay;
                out.delta[at(k, r, ch)] = (full[(r, ch)] - zero[(r, ch)]) * delay;
            }
        }
        if in_filters {
            out.plain_complement[k] = delay;
        }
    }
    out
}

/// The filter set of windowed chain spectra: single precision, the sides that take the plain
/// feed away, the ear responses, the centre share and the loudness model.
fn filter_set(
    input: &DesignInput,
    layout: FrameLayout,
    freqs: &[f64],
    ears: &EarResponses,
    spectra: &ChainSpectra,
) -> FilterSet {
    let s = &input.settings;
    let n = input.outputs;
    let bins = layout.bins();
    let loudness = loudness_model(
        freqs,
        ears,
        s.mode,
        n,
        &spectra.base,
        &spectra.delta,
        s.bass_crossover_hz,
    );
    let to32 =
        |v: &Vec<C64>| Planar::collect(v.iter().map(|c| Complex32::new(c.re as f32, c.im as f32)));
    // The plain feed the processing replaces.
    let mut sides = [
        vec![C64::new(0.0, 0.0); n * bins],
        vec![C64::new(0.0, 0.0); n * bins],
    ];
    for (side, values) in sides.iter_mut().enumerate() {
        let output = side_output(side, n);
        for (k, v) in spectra.plain_complement.iter().enumerate() {
            values[output * bins + k] = -v;
        }
    }
    FilterSet {
        layout,
        outputs: n,
        base: to32(&spectra.base),
        width_delta: to32(&spectra.delta),
        sides_used: (0..n)
            .map(|o| [0, 1].map(|side| side_output(side, n) == o))
            .collect(),
        sides: sides.each_ref().map(to32),
        ear_responses: crate::design::evaluate::simulate::ear_firs(
            ears,
            layout,
            input.sample_rate,
            s.mode,
        ),
        centre_share: freqs
            .iter()
            .map(|&f| crossover::centre_share(f, s.bass_crossover_hz) as f32)
            .collect(),
        bass_split: crossover::bass_split_hz(layout.mode, s.bass_crossover_hz).map(|corner_hz| {
            SplitAt {
                corner_hz,
                sample_rate: input.sample_rate,
            }
        }),
        loudness,
        // NOTE: in binaural mode each ear already receives its channel at the recorded level
        // (the identity target); the crosstalk that plain stereo adds is not programme, so
        // there is nothing to match, and matching it would lift everything above the bass
        // crossover by the lost crosstalk energy: a shelf, i.e. colour.
        compensate_loudness: s.loudness_compensation && s.mode != Mode::Binaural,
        generation: 0,
    }
}

/// Delay alignment of the centre on a driver line: each driver's centre feed is delayed so
/// that it reaches the listener together with the side channels (which arrive as the plain
/// feed from the outer drivers does). On a pair the centre is the plain feed and needs none.
fn centre_alignment(ears: &EarResponses, mode: Mode, n: usize) -> Vec<f64> {
    if mode != Mode::Speakers || n < 3 {
        return vec![0.0; n];
    }
    let mut planner = realfft::RealFftPlanner::new();
    let mut at = |ear, driver| ears.arrival_with(&mut planner, ear, driver).1;
    let side = 0.5 * (at(0, 0) + at(1, n - 1));
    (0..n).map(|d| side - 0.5 * (at(0, d) + at(1, d))).collect()
}

/// Ear power of a reference programme (uncorrelated sides plus a centred source, equal
/// power), pink-weighted over [`LOUDNESS_BAND_HZ`] (from the crossover's transition if that is
/// higher), for the plain input and the processed chain.
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
    let at = |bin: usize, out: usize, ch: usize| element_index(bins, bin, out, ch);
    let mut model = LoudnessModel {
        plain: 0.0,
        at_zero: 0.0,
        cross: 0.0,
        delta: 0.0,
    };
    let lowest = (crossover_hz + 2.0 * crossover::STEP_OFFSET_HZ).max(LOUDNESS_BAND_HZ.0);
    for (k, &f) in freqs.iter().enumerate() {
        if f < lowest || f > LOUDNESS_BAND_HZ.1 {
            continue;
        }
        let weight = 1.0 / f;
        // Outputs to ears: the plant for speakers, the outer outputs themselves for headphones.
        let to_ear = |ear: usize, out: usize| -> C64 {
            if mode == Mode::Headphones {
                let ear_out = side_output(ear, n);
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
