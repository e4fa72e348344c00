//! The streaming engine: one STFT (Hann analysis window, 50 % overlap, zero-padded FFT) in
//! which the upmix and the whole filter matrix are applied, then overlap-add. With analysis
//! windows that sum to one and filters no longer than the zero padding, overlap-add is an
//! exact linear convolution for fixed filters, so the engine is transparent when the filters
//! are a delay, and its latency is exactly `frame_len + bulk_delay`.
//!
//! Everything is allocated in [`Engine::new`]; [`Engine::process`] allocates nothing, takes
//! no lock, makes no system call, and its work per sample does not depend on the host's
//! block size.
//!
//! [`Engine`] orchestrates parts that each do one job: `FilterSlots` (install, fade,
//! retire), `DryDelay`, `ControlDelay`, `OverlapAdd` and `OutputStage`; the per-bin loops
//! are the kernels of `kernels.rs`.

mod control_delay;
mod dry_delay;
mod ear_convolver;
mod kernels;
mod output_stage;
mod overlap_add;
mod slots;

pub use output_stage::PREVIEW_FADE_S;

use super::bass_split::BassSplit;
use super::contract::{plain_side, Controls, FilterSet, FrameLayout, LatencyMode, UPMIX_CHANNELS};
use super::denormals::FlushDenormals;
use super::planar::Planar;
use super::simd::Simd;
use super::smoothing::{Crossfade, Glide};
use super::upmix::Upmix;
use control_delay::ControlDelay;
use dry_delay::DryDelay;
use kernels::{ApplyMatrix, BuildMatrix, UpmixFrame, Weights};
use output_stage::OutputStage;
use overlap_add::OverlapAdd;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use slots::FilterSlots;
use std::sync::Arc;

/// Time constant of the width glide, seconds.
pub const WIDTH_GLIDE_S: f64 = 0.010;

/// Time constant of the output-gain glide, seconds.
pub const GAIN_GLIDE_S: f64 = 0.010;

/// Length of the bypass crossfade, seconds.
pub const BYPASS_FADE_S: f64 = 0.030;

/// Input magnitude above which a sample is treated as corrupt (≈ +160 dBFS).
pub const MAX_INPUT: f32 = 1e8;

/// Why a filter set was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// The set was designed for another frame layout (sample rate) or output count.
    #[error("filter set designed for {got_outputs} outputs / {got_fft} FFT, engine has {outputs} / {fft}")]
    Mismatch {
        /// Outputs of the engine.
        outputs: usize,
        /// FFT length of the engine.
        fft: usize,
        /// Outputs of the set.
        got_outputs: usize,
        /// FFT length of the set.
        got_fft: usize,
    },
    /// The set holds a coefficient that is not a finite number.
    #[error("filter set holds values that are not finite numbers")]
    NotFinite,
}

/// The real-time processor for one plugin instance.
pub struct Engine {
    /// The frame geometry the filters were designed for.
    layout: FrameLayout,
    /// Output channels.
    outputs: usize,
    /// The analysis transform, planned once.
    forward: Arc<dyn RealToComplex<f32>>,
    /// The synthesis transform, planned once.
    inverse: Arc<dyn ComplexToReal<f32>>,
    forward_scratch: Vec<Complex32>,
    inverse_scratch: Vec<Complex32>,
    /// The analysis window (periodic Hann with the inverse FFT's 1/N folded in).
    window: Vec<f32>,
    /// Per input channel, the frame being filled: the last hop of the previous frame
    /// followed by this one's.
    frame_in: [Vec<f32>; 2],
    /// Width at the centre of the frame being filled (the first sample of its newest hop).
    frame_width: f32,
    /// Samples of the current hop already in.
    fill: usize,
    /// The windowed, zero-padded frame (and each output's inverse transform).
    time: Vec<f32>,
    /// The frame's left and right spectra.
    spectra: [Vec<Complex32>; 2],
    /// The frame's upmix channels L', R', C.
    channels: [Planar; UPMIX_CHANNELS],
    /// Per output and upmix channel, the frame's whole filter: the playing sets' base and
    /// width delta and the plain sides, weighted by loudness gain, width and crossfade. Built
    /// only when one of those changes, so a steady frame costs one product per channel.
    matrix: Vec<[Planar; UPMIX_CHANNELS]>,
    /// The slots' epoch and the weights `matrix` was built with (the current set's, the
    /// previous set's while it fades out).
    matrix_built: Option<(u64, Weights, Option<Weights>)>,
    /// One output's spectrum on its way to the inverse transform.
    out_spectrum: Vec<Complex32>,
    overlap: OverlapAdd,
    upmix: Upmix,
    /// The instruction set the per-bin loops run in.
    simd: Simd,
    slots: FilterSlots,
    dry: DryDelay,
    stage: OutputStage,
    controls: ControlDelay,
    width: Glide,
    gain: Glide,
    bypass: Crossfade,
    /// How many times corrupt input forced a reset.
    resets: u64,
    /// Clean input samples since the last corrupt one, up to a hop: below a hop the engine is
    /// still in a corrupt run, whose later corrupt samples become silence without another
    /// reset.
    clean_since_corrupt: usize,
    /// A chunk of input in a corrupt run, with its corrupt samples replaced by silence.
    sanitized: [Vec<f32>; 2],
    /// The time-domain bass crossover, for sets that ask for it.
    split: BassSplit,
    /// A chunk's low and high bands, per input channel, while a set splits.
    split_bands: [[Vec<f32>; 2]; 2],
    /// No audio has gone through since construction or the last reset: a new filter set can
    /// take over at once, there is nothing to crossfade from.
    fresh: bool,
}

impl Engine {
    /// An engine running `filters` (which fixes the frame layout and output count).
    pub fn new(filters: Box<FilterSet>, sample_rate: f64, controls: Controls) -> Self {
        let layout = filters.layout;
        let outputs = filters.outputs;
        // Any corner will do for a set that does not split: it is tuned when one does.
        let filters_split_hz = filters.bass_split.map_or(1000.0, |split| split.corner_hz);
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(layout.fft_len);
        let inverse = planner.plan_fft_inverse(layout.fft_len);
        let bins = layout.bins();
        // Periodic Hann: shifted by half its length it sums to one. The 1/N of the unscaled
        // inverse FFT is folded in here.
        let window = (0..layout.frame_len)
            .map(|i| {
                let x = i as f64 / layout.frame_len as f64;
                ((0.5 - 0.5 * (2.0 * std::f64::consts::PI * x).cos()) / layout.fft_len as f64)
                    as f32
            })
            .collect();
        let latency = layout.latency();
        let zeros = vec![Complex32::new(0.0, 0.0); bins];
        let mix = |on: bool| if on { 1.0 } else { 0.0 };
        let mut engine = Self {
            layout,
            outputs,
            forward_scratch: forward.make_scratch_vec(),
            inverse_scratch: inverse.make_scratch_vec(),
            forward,
            inverse,
            window,
            frame_in: [vec![0.0; layout.frame_len], vec![0.0; layout.frame_len]],
            frame_width: controls.width,
            fill: 0,
            time: vec![0.0; layout.fft_len],
            spectra: [zeros.clone(), zeros.clone()],
            channels: std::array::from_fn(|_| Planar::zeros(bins)),
            matrix: (0..outputs)
                .map(|_| std::array::from_fn(|_| Planar::zeros(bins)))
                .collect(),
            matrix_built: None,
            out_spectrum: zeros,
            overlap: OverlapAdd::new(outputs, layout.fft_len, layout.hop),
            upmix: Upmix::new(bins, layout.hop, sample_rate),
            simd: Simd::detect(),
            slots: FilterSlots::new(filters),
            dry: DryDelay::new(
                latency,
                layout.output_delay,
                layout.hop,
                layout.mode == LatencyMode::Low,
            ),
            stage: OutputStage::new(layout, outputs, controls.preview, sample_rate),
            controls: ControlDelay::new(latency, layout.hop, (controls.gain, mix(controls.bypass))),
            width: Glide::new(controls.width, WIDTH_GLIDE_S, sample_rate),
            gain: Glide::new(controls.gain, GAIN_GLIDE_S, sample_rate),
            bypass: Crossfade::new(mix(controls.bypass), BYPASS_FADE_S, sample_rate),
            resets: 0,
            clean_since_corrupt: layout.hop,
            sanitized: [vec![0.0; layout.hop], vec![0.0; layout.hop]],
            split: BassSplit::new(filters_split_hz, sample_rate),
            split_bands: std::array::from_fn(|_| [vec![0.0; layout.hop], vec![0.0; layout.hop]]),
            fresh: true,
        };
        engine.set_controls(controls);
        engine
    }

    /// Latency in samples: what the host must be told, and what an impulse measures.
    pub fn latency(&self) -> usize {
        self.layout.latency()
    }

    /// Number of output channels.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The frame geometry.
    pub fn layout(&self) -> FrameLayout {
        self.layout
    }

    /// The filter set currently fading in or playing.
    pub fn filters(&self) -> &FilterSet {
        self.slots.current()
    }

    /// Whether a new set is still fading in (diagnostics, and the tests that time how soon a
    /// move is heard: a design is fully heard once this is false).
    pub fn fading(&self) -> bool {
        self.slots.previous().is_some()
    }

    /// The parameter generation of the newest design the engine holds (playing, fading in or
    /// waiting to fade in).
    pub fn newest_generation(&self) -> u64 {
        self.slots.newest_generation()
    }

    /// How many times corrupt input forced a reset (for tests and diagnostics).
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// Sets the values the controls glide to from the next sample on (or jumps there, before
    /// any audio has gone through).
    pub fn set_controls(&mut self, controls: Controls) {
        self.width.set_target(controls.width.clamp(0.0, 1.0));
        self.gain.set_target(controls.gain.max(0.0));
        self.bypass
            .set_target(if controls.bypass { 1.0 } else { 0.0 });
        self.stage.set_preview(controls.preview);
        if self.fresh {
            // Nothing has been heard yet: start where the controls are, without a glide.
            self.settle_controls();
        }
    }

    /// Jumps every control to its target (a fresh start: no glide from stale values).
    pub fn settle_controls(&mut self) {
        self.width.jump(self.width.target());
        self.gain.jump(self.gain.target());
        self.bypass.jump(self.bypass.target());
        self.stage.settle();
        self.frame_width = self.width.target();
        self.controls
            .settle((self.gain.target(), self.bypass.target()));
    }

    /// Hands a new design to the audio thread; it fades in over
    /// [`FrameLayout::crossfade_frames`]. While a fade runs, the newest set waits and an
    /// older waiting set is retired. Before any audio has gone through (after construction
    /// or a reset) it takes over at once.
    pub fn install(
        &mut self,
        filters: Box<FilterSet>,
    ) -> Result<(), (InstallError, Box<FilterSet>)> {
        if filters.layout != self.layout || filters.outputs != self.outputs {
            let err = InstallError::Mismatch {
                outputs: self.outputs,
                fft: self.layout.fft_len,
                got_outputs: filters.outputs,
                got_fft: filters.layout.fft_len,
            };
            return Err((err, filters));
        }
        // The scan reads each coefficient once, less than the matrix build of one frame.
        if !filters.is_finite() {
            return Err((InstallError::NotFinite, filters));
        }
        self.slots.install(filters, self.fresh);
        Ok(())
    }

    /// Takes one filter set that is no longer used, to be freed off the audio thread.
    pub fn take_retired(&mut self) -> Option<Box<FilterSet>> {
        self.slots.take_retired()
    }

    /// Clears all signal state (not the filters, the controls or the hop phase): from the
    /// next sample on, the output is what a fresh engine fed silence until now would give.
    pub fn reset(&mut self) {
        for buf in &mut self.frame_in {
            buf.fill(0.0);
        }
        self.overlap.reset();
        self.dry.reset();
        self.stage.reset();
        self.upmix.reset();
        self.split.reset();
        self.resets += 1;
        self.fresh = true;
    }

    /// Processes one block: `input` is stereo, `output` has one slice per output channel,
    /// all of the same length (any length, including 0).
    pub fn process(&mut self, input: [&[f32]; 2], output: &mut [&mut [f32]]) {
        let _ftz = FlushDenormals::new();
        let len = input[0].len().min(input[1].len());
        if len > 0 {
            self.fresh = false;
        }
        debug_assert!(output.len() == self.outputs && output.iter().all(|o| o.len() >= len));
        let hop = self.layout.hop;
        let mut i = 0;
        while i < len {
            let room = (hop - self.fill).min(len - i);
            let (l, r) = (&input[0][i..i + room], &input[1][i..i + room]);
            let sane = |(a, b): (&f32, &f32)| a.abs() <= MAX_INPUT && b.abs() <= MAX_INPUT;
            // A branch-free pass over the chunk first (it vectorises); only a chunk that holds
            // a corrupt sample is searched for it.
            let all_sane = l.iter().zip(r).fold(true, |ok, pair| ok & sane(pair));
            let clean = if all_sane {
                room
            } else {
                l.iter().zip(r).position(|pair| !sane(pair)).unwrap_or(room)
            };
            if clean > 0 {
                self.run_chunk(&l[..clean], &r[..clean], output, i);
                self.clean_since_corrupt = (self.clean_since_corrupt + clean).min(hop);
                i += clean;
            } else {
                // NaN, ±Inf or absurd values: forget everything once per corrupt run (until a
                // hop of clean input has passed), and play the corrupt samples as silence. The
                // chunk goes through whole: a chunk is at most a hop, so no new run starts in it.
                if self.clean_since_corrupt >= hop {
                    self.reset();
                }
                let [mut sl, mut sr] = std::mem::take(&mut self.sanitized);
                for (j, pair) in l.iter().zip(r).enumerate() {
                    let keep = sane(pair);
                    sl[j] = if keep { *pair.0 } else { 0.0 };
                    sr[j] = if keep { *pair.1 } else { 0.0 };
                }
                self.clean_since_corrupt =
                    l.iter().zip(r).rev().take_while(|pair| sane(*pair)).count();
                self.run_chunk(&sl[..room], &sr[..room], output, i);
                self.sanitized = [sl, sr];
                i += room;
            }
        }
    }

    /// Feeds `left`/`right` (clean, within the current hop) in and writes the same number of
    /// output samples at `at`; runs a frame when the hop is complete.
    fn run_chunk(&mut self, left: &[f32], right: &[f32], output: &mut [&mut [f32]], at: usize) {
        let n = left.len();
        let pos = self.layout.frame_len - self.layout.hop + self.fill;
        let split_hz = self.slots.current().bass_split.map(|split| split.corner_hz);
        if let Some(hz) = split_hz {
            if hz != self.split.corner_hz() {
                self.split.tune(hz);
            }
        }
        // A layout that can split always splits, so that the plain feed's line is ready when
        // a set that splits arrives after one that does not (a failed design's plain set).
        let splitting = self.dry.has_separate_feed();
        if splitting {
            let [[low_l, high_l], [low_r, high_r]] = &mut self.split_bands;
            self.split.run(
                [left, right],
                [&mut low_l[..n], &mut low_r[..n]],
                [&mut high_l[..n], &mut high_r[..n]],
            );
        }
        let band = |ch: usize, b: usize| &self.split_bands[ch][b][..n];
        let stft_in = match split_hz {
            Some(_) => [band(0, 1), band(1, 1)],
            None => [left, right],
        };
        let feed = splitting.then(|| [band(0, 0), band(1, 0)]);
        self.frame_in[0][pos..pos + n].copy_from_slice(stft_in[0]);
        self.frame_in[1][pos..pos + n].copy_from_slice(stft_in[1]);
        if self.fill == 0 {
            self.frame_width = self.width.tick();
            self.width.advance(n - 1);
        } else {
            self.width.advance(n);
        }
        self.dry.push(left, right, feed, split_hz.is_some());
        self.stage.run(
            n,
            &self.overlap,
            self.fill,
            &self.dry,
            self.slots.current(),
            self.slots.ear_fade(),
            self.slots.epoch(),
        );
        self.slots.advance(n);
        let settled = (self.gain.is_settled() && self.bypass.is_settled())
            .then(|| (self.gain.target(), self.bypass.target()));
        let (gain, bypass) = (&mut self.gain, &mut self.bypass);
        let constant = self
            .controls
            .advance(n, settled, || (gain.tick(), bypass.tick()));
        for (o, out) in output.iter_mut().enumerate() {
            let dry = plain_side(o, self.outputs).map(|side| self.dry.bypass(side, n));
            let each = match constant {
                Some(c) => PerSample::Constant(c),
                None => PerSample::Each(self.controls.chunk(n)),
            };
            mix_output(&mut out[at..at + n], dry, self.stage.staged(o, n), each);
        }
        self.fill += n;
        if self.fill == self.layout.hop {
            self.run_frame();
            self.fill = 0;
        }
    }

    /// One STFT frame: analysis, upmix, filter matrix, synthesis, overlap-add.
    fn run_frame(&mut self) {
        self.analyse();
        self.update_matrix();
        self.synthesise();
        let (frame_len, hop) = (self.layout.frame_len, self.layout.hop);
        for buf in &mut self.frame_in {
            buf.copy_within(hop..frame_len, 0);
        }
        self.slots.end_frame();
    }

    /// Windows and transforms both input channels and upmixes them into L', R', C.
    fn analyse(&mut self) {
        let frame_len = self.layout.frame_len;
        for ch in 0..2 {
            for (t, (x, w)) in self
                .time
                .iter_mut()
                .zip(self.frame_in[ch].iter().zip(&self.window))
            {
                *t = x * w;
            }
            self.time[frame_len..].fill(0.0);
            if self
                .forward
                .process_with_scratch(
                    &mut self.time,
                    &mut self.spectra[ch],
                    &mut self.forward_scratch,
                )
                .is_err()
            {
                self.spectra[ch].fill(Complex32::new(0.0, 0.0));
            }
        }
        self.simd.run(UpmixFrame {
            upmix: &mut self.upmix,
            left: &self.spectra[0],
            right: &self.spectra[1],
            share: &self.slots.current().centre_share,
            out: &mut self.channels,
        });
    }

    /// Rebuilds the frame's filter matrix if the sets or their weights (loudness gain, width,
    /// crossfade) changed since it was built.
    fn update_matrix(&mut self) {
        let width = self.frame_width;
        let fade_in = self.slots.fade_in();
        let current = self.slots.current();
        let previous = self.slots.previous();
        let new_gain = current.output_gain(width as f64) as f32 * fade_in;
        let new = Weights {
            base: new_gain,
            width: new_gain * width,
            plain: fade_in,
        };
        let old = previous.map(|p| {
            let old_gain = p.output_gain(width as f64) as f32 * (1.0 - fade_in);
            Weights {
                base: old_gain,
                width: old_gain * width,
                plain: 1.0 - fade_in,
            }
        });
        let built = Some((self.slots.epoch(), new, old));
        if self.matrix_built != built {
            self.simd.run(BuildMatrix {
                sets: [Some((current, new)), previous.zip(old)],
                matrix: &mut self.matrix,
            });
            self.matrix_built = built;
        }
    }

    /// Applies the matrix for every output, transforms back and adds into the overlap ring.
    fn synthesise(&mut self) {
        let bins = self.layout.bins();
        for n in 0..self.outputs {
            self.simd.run(ApplyMatrix {
                matrix: &self.matrix[n],
                channels: &self.channels,
                out: &mut self.out_spectrum,
            });
            self.out_spectrum[0].im = 0.0;
            self.out_spectrum[bins - 1].im = 0.0;
            if self
                .inverse
                .process_with_scratch(
                    &mut self.out_spectrum,
                    &mut self.time,
                    &mut self.inverse_scratch,
                )
                .is_err()
            {
                self.time.fill(0.0);
            }
            self.overlap.add(n, &self.time);
        }
        self.overlap.advance();
    }
}

/// The (gain, bypass mix) of each sample of a chunk: one pair for all, or one each.
#[derive(Clone, Copy)]
enum PerSample<'a> {
    Constant((f32, f32)),
    Each(&'a [(f32, f32)]),
}

/// Writes one output's chunk: the staged processed signal times the gain, crossfaded to the
/// dry input (`None` on the inner outputs of a driver line, which have none) by the bypass
/// mix. Anything non-finite becomes silence.
fn mix_output(out: &mut [f32], dry: Option<&[f32]>, staged: &[f32], controls: PerSample) {
    let mixed = |d: f32, wet: f32, (gain, mix): (f32, f32)| {
        let wet = wet * gain;
        let v = wet + (d - wet) * mix;
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    // Four plain loops rather than one with choices inside, so that each vectorises.
    match (controls, dry) {
        (PerSample::Constant(c), Some(dry)) => {
            for ((y, d), w) in out.iter_mut().zip(dry).zip(staged) {
                *y = mixed(*d, *w, c);
            }
        }
        (PerSample::Constant(c), None) => {
            for (y, w) in out.iter_mut().zip(staged) {
                *y = mixed(0.0, *w, c);
            }
        }
        (PerSample::Each(each), Some(dry)) => {
            for (((y, d), w), c) in out.iter_mut().zip(dry).zip(staged).zip(each) {
                *y = mixed(*d, *w, *c);
            }
        }
        (PerSample::Each(each), None) => {
            for ((y, w), c) in out.iter_mut().zip(staged).zip(each) {
                *y = mixed(0.0, *w, *c);
            }
        }
    }
}
