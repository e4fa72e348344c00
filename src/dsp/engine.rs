//! The streaming engine: one STFT (Hann analysis window, 50 % overlap, zero-padded FFT) in
//! which the upmix and the whole filter matrix are applied, then overlap-add. With analysis
//! windows that sum to one and filters no longer than the zero padding, overlap-add is an
//! exact linear convolution for fixed filters, so the engine is transparent when the filters
//! are a delay, and its latency is exactly `frame_len + bulk_delay`.
//!
//! Everything is allocated in [`Engine::new`]; [`Engine::process`] allocates nothing, takes
//! no lock, makes no system call, and its work per sample does not depend on the host's
//! block size.

use super::denormals::FlushDenormals;
use super::planar::Planar;
use super::simd::{Kernel, Simd};
use super::smoothing::{Crossfade, Glide};
use super::upmix::Upmix;
use crate::dsp::contract::{FilterSet, FrameLayout, UPMIX_CHANNELS};
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Frames over which a new filter set fades in (about 21 ms at 48 kHz).
pub const CROSSFADE_FRAMES: usize = 2;

/// Time constant of the width glide, seconds.
pub const WIDTH_GLIDE_S: f64 = 0.010;

/// Time constant of the output-gain glide, seconds.
pub const GAIN_GLIDE_S: f64 = 0.010;

/// Length of the bypass crossfade, seconds.
pub const BYPASS_FADE_S: f64 = 0.030;

/// Length of the crossfade into and out of the headphone preview, seconds.
pub const PREVIEW_FADE_S: f64 = 0.050;

/// Input magnitude above which a sample is treated as corrupt (≈ +160 dBFS).
pub const MAX_INPUT: f32 = 1e8;

/// Per-call control values; the engine glides to them sample by sample.
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
}

/// The real-time processor for one plugin instance.
pub struct Engine {
    layout: FrameLayout,
    outputs: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    forward_scratch: Vec<Complex32>,
    inverse_scratch: Vec<Complex32>,
    window: Vec<f32>,
    frame_in: [Vec<f32>; 2],
    /// Width at the centre of the frame being filled (the first sample of its newest hop).
    frame_width: f32,
    fill: usize,
    time: Vec<f32>,
    spectra: [Vec<Complex32>; 2],
    channels: [Planar; UPMIX_CHANNELS],
    /// Per output and upmix channel, the frame's whole filter: the playing sets' base and
    /// width delta and the plain sides, weighted by loudness gain, width and crossfade. Built
    /// only when one of those changes, so a steady frame costs one product per channel.
    matrix: Vec<[Planar; UPMIX_CHANNELS]>,
    /// The weights `matrix` holds (the current set's, the previous set's while it fades
    /// out); `None` once the sets themselves change.
    matrix_weights: Option<(Weights, Option<Weights>)>,
    out_spectrum: Vec<Complex32>,
    /// Per output, the overlap-add ring: fft_len / hop segments of one hop each.
    overlap: Vec<Vec<f32>>,
    /// The ring segment complete and being played during this hop.
    ready_segment: usize,
    upmix: Upmix,
    /// The instruction set the per-bin loops run in.
    simd: Simd,
    current: Box<FilterSet>,
    previous: Option<Box<FilterSet>>,
    pending: Option<Box<FilterSet>>,
    retired: [Option<Box<FilterSet>>; 4],
    fade: usize,
    dry: [Vec<f32>; 2],
    /// The dry input leaving the delay line during the current chunk (the full latency:
    /// what bypass plays).
    dry_out: [Vec<f32>; 2],
    /// The dry input for the driver feeds during the current chunk: the latency less the
    /// output stage, which delays the feeds by the rest.
    dry_feed: [Vec<f32>; 2],
    /// Per output, the driver feed's recent past: a ring of `ear_taps + hop` samples stored
    /// twice over, so that the window the output stage reads (its delayed feed, or the span
    /// its ear responses convolve) is always one contiguous slice.
    feed_history: Vec<Vec<f32>>,
    /// Where the next feed sample goes in the ring.
    feed_pos: usize,
    /// One output's feed for the current chunk, on its way into the ring.
    feed_scratch: Vec<f32>,
    /// Per output, what the output stage makes of the current chunk.
    staged: Vec<Vec<f32>>,
    /// The left and right ear of the headphone preview for the current chunk.
    ear_scratch: [Vec<f32>; 2],
    /// Samples since the last filter set was installed: the ear responses crossfade over
    /// one hop from the previous set's to the new set's.
    since_install: usize,
    control_delay: Vec<(f32, f32)>,
    /// Gain and bypass mix applied to each sample of the current chunk.
    chunk_controls: Vec<(f32, f32)>,
    /// The controls last written into the delay line, and for how many samples in a row:
    /// once that covers the whole line, every entry is that value and the line can idle.
    held_controls: (f32, f32),
    held_for: usize,
    delay_pos: usize,
    width: Glide,
    gain: Glide,
    bypass: Crossfade,
    preview: Crossfade,
    resets: u64,
    /// No audio has gone through since construction or the last reset: a new filter set can
    /// take over at once, there is nothing to crossfade from.
    fresh: bool,
}

impl Engine {
    /// An engine running `filters` (which fixes the frame layout and output count).
    pub fn new(filters: Box<FilterSet>, sample_rate: f64, controls: Controls) -> Self {
        let layout = filters.layout;
        let outputs = filters.outputs;
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
            matrix_weights: None,
            out_spectrum: zeros,
            overlap: vec![vec![0.0; layout.fft_len]; outputs],
            ready_segment: 0,
            upmix: Upmix::new(bins, layout.hop, sample_rate),
            simd: Simd::detect(),
            current: filters,
            previous: None,
            pending: None,
            retired: [None, None, None, None],
            fade: 0,
            dry: [vec![0.0; latency], vec![0.0; latency]],
            dry_out: [vec![0.0; layout.hop], vec![0.0; layout.hop]],
            dry_feed: [vec![0.0; layout.hop], vec![0.0; layout.hop]],
            feed_history: vec![vec![0.0; 2 * (layout.ear_taps() + layout.hop)]; outputs],
            feed_pos: 0,
            feed_scratch: vec![0.0; layout.hop],
            staged: vec![vec![0.0; layout.hop]; outputs],
            ear_scratch: [vec![0.0; layout.hop], vec![0.0; layout.hop]],
            since_install: usize::MAX,
            control_delay: vec![(controls.gain, if controls.bypass { 1.0 } else { 0.0 }); latency],
            chunk_controls: vec![(0.0, 0.0); layout.hop],
            held_controls: (controls.gain, if controls.bypass { 1.0 } else { 0.0 }),
            held_for: latency,
            delay_pos: 0,
            width: Glide::new(controls.width, WIDTH_GLIDE_S, sample_rate),
            gain: Glide::new(controls.gain, GAIN_GLIDE_S, sample_rate),
            bypass: Crossfade::new(
                if controls.bypass { 1.0 } else { 0.0 },
                BYPASS_FADE_S,
                sample_rate,
            ),
            preview: Crossfade::new(
                if controls.preview { 1.0 } else { 0.0 },
                PREVIEW_FADE_S,
                sample_rate,
            ),
            resets: 0,
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
        &self.current
    }

    /// The parameter generation of the newest design the engine holds (playing, fading in or
    /// waiting to fade in).
    pub fn newest_generation(&self) -> u64 {
        self.pending
            .as_ref()
            .map_or(self.current.generation, |p| p.generation)
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
        self.preview
            .set_target(if controls.preview { 1.0 } else { 0.0 });
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
        self.preview.jump(self.preview.target());
        self.frame_width = self.width.target();
        let held = (self.gain.target(), self.bypass.target());
        self.control_delay.fill(held);
        self.held_controls = held;
        self.held_for = self.control_delay.len();
    }

    /// Hands a new design to the audio thread; it fades in over [`CROSSFADE_FRAMES`]. While
    /// a fade runs, the newest set waits and an older waiting set is retired. Before any
    /// audio has gone through (after construction or a reset) it takes over at once.
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
        if self.fresh {
            self.matrix_weights = None;
            let old = std::mem::replace(&mut self.current, filters);
            self.retire(old);
            for set in [self.previous.take(), self.pending.take()]
                .into_iter()
                .flatten()
            {
                self.retire(set);
            }
        } else if self.previous.is_some() {
            if let Some(old) = self.pending.replace(filters) {
                self.retire(old);
            }
        } else {
            self.fade_to(filters);
        }
        Ok(())
    }

    /// Makes `next` the playing set and starts fading the one it replaces out.
    fn fade_to(&mut self, next: Box<FilterSet>) {
        self.matrix_weights = None;
        let old = std::mem::replace(&mut self.current, next);
        self.previous = Some(old);
        self.fade = 0;
        self.since_install = 0;
    }

    /// Takes one filter set that is no longer used, to be freed off the audio thread.
    pub fn take_retired(&mut self) -> Option<Box<FilterSet>> {
        self.retired.iter_mut().find_map(Option::take)
    }

    fn retire(&mut self, set: Box<FilterSet>) {
        match self.retired.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(set),
            // NOTE: at most three sets retire between two polls (a replaced pending set and
            // two finished fades), so the four slots fill only if the caller never collects;
            // keeping the newest retired set and dropping an older one is then the lesser evil.
            None => self.retired[0] = Some(set),
        }
    }

    /// Clears all signal state (not the filters, the controls or the hop phase): from the
    /// next sample on, the output is what a fresh engine fed silence until now would give.
    pub fn reset(&mut self) {
        for buf in &mut self.frame_in {
            buf.fill(0.0);
        }
        for buf in &mut self.overlap {
            buf.fill(0.0);
        }
        for buf in self.dry.iter_mut().chain(self.feed_history.iter_mut()) {
            buf.fill(0.0);
        }
        self.upmix.reset();
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
                i += clean;
            } else {
                // NaN, ±Inf or absurd values: forget everything, continue from silence.
                self.reset();
                self.run_chunk(&[0.0], &[0.0], output, i);
                i += 1;
            }
        }
    }

    /// Feeds `left`/`right` (clean, within the current hop) in and writes the same number of
    /// output samples at `at`; runs a frame when the hop is complete.
    fn run_chunk(&mut self, left: &[f32], right: &[f32], output: &mut [&mut [f32]], at: usize) {
        let n = left.len();
        let hop = self.layout.hop;
        let latency = self.layout.latency();
        let pos = self.layout.frame_len - hop + self.fill;
        self.frame_in[0][pos..pos + n].copy_from_slice(left);
        self.frame_in[1][pos..pos + n].copy_from_slice(right);
        if self.fill == 0 {
            self.frame_width = self.width.tick();
            self.width.advance(n - 1);
        } else {
            self.width.advance(n);
        }
        // The dry delay line: both taps are read before the chunk enters it.
        let start = self.delay_pos;
        let feed_tap = (start + self.layout.output_delay) % latency;
        for ch in 0..2 {
            ring_read(&self.dry[ch], start, &mut self.dry_out[ch][..n]);
            ring_read(&self.dry[ch], feed_tap, &mut self.dry_feed[ch][..n]);
        }
        let mut done = 0;
        while done < n {
            let p = self.delay_pos;
            let run = (latency - p).min(n - done);
            for (ch, x) in [left, right].into_iter().enumerate() {
                self.dry[ch][p..p + run].copy_from_slice(&x[done..done + run]);
            }
            done += run;
            self.delay_pos = (p + run) % latency;
        }
        self.stage(n);
        // Gain and bypass travel through a delay line of the latency, so that they act on the
        // audio they were set for. Once they have held still for the whole line, it idles.
        let steady = self.gain.is_settled()
            && self.bypass.is_settled()
            && self.held_controls == (self.gain.target(), self.bypass.target())
            && self.held_for >= latency;
        let constant = if steady {
            self.held_for = self.held_for.saturating_add(n);
            Some(self.held_controls)
        } else {
            for j in 0..n {
                let now = (self.gain.tick(), self.bypass.tick());
                let slot = (start + j) % latency;
                self.chunk_controls[j] = std::mem::replace(&mut self.control_delay[slot], now);
                if now == self.held_controls {
                    self.held_for = self.held_for.saturating_add(1);
                } else {
                    self.held_controls = now;
                    self.held_for = 1;
                }
            }
            None
        };
        let last = self.outputs - 1;
        let zeros = [0.0f32; 0];
        for (o, out) in output.iter_mut().enumerate() {
            let dry: &[f32] = if o == 0 {
                &self.dry_out[0][..n]
            } else if o == last {
                &self.dry_out[1][..n]
            } else {
                &zeros
            };
            let staged = &self.staged[o][..n];
            let out = &mut out[at..at + n];
            let mixed = |d: f32, wet: f32, (gain, mix): (f32, f32)| {
                let wet = wet * gain;
                let v = wet + (d - wet) * mix;
                if v.is_finite() {
                    v
                } else {
                    0.0
                }
            };
            match (constant, dry.is_empty()) {
                (Some(c), false) => {
                    for ((y, d), w) in out.iter_mut().zip(dry).zip(staged) {
                        *y = mixed(*d, *w, c);
                    }
                }
                (Some(c), true) => {
                    for (y, w) in out.iter_mut().zip(staged) {
                        *y = mixed(0.0, *w, c);
                    }
                }
                (None, false) => {
                    for (((y, d), w), c) in out
                        .iter_mut()
                        .zip(dry)
                        .zip(staged)
                        .zip(&self.chunk_controls)
                    {
                        *y = mixed(*d, *w, *c);
                    }
                }
                (None, true) => {
                    for ((y, w), c) in out.iter_mut().zip(staged).zip(&self.chunk_controls) {
                        *y = mixed(0.0, *w, *c);
                    }
                }
            }
        }
        self.fill += n;
        if self.fill == hop {
            self.run_frame();
            self.fill = 0;
        }
    }

    /// The output stage for the current chunk of `n` samples: the driver feeds (dry input
    /// plus the STFT's output) delayed by the output delay, or, in the headphone preview, the
    /// feeds through the ear responses (left ear on the leftmost output, right ear on the
    /// rightmost, the inner outputs silent), crossfaded by the preview glide.
    fn stage(&mut self, n: usize) {
        let hop = self.layout.hop;
        let taps = self.layout.ear_taps();
        let ring = taps + hop;
        let delay = self.layout.output_delay;
        let last = self.outputs - 1;
        let ready_at = self.ready_segment * hop + self.fill;
        let start = self.feed_pos;
        for o in 0..self.outputs {
            let feed = &mut self.feed_scratch[..n];
            feed.copy_from_slice(&self.overlap[o][ready_at..ready_at + n]);
            let dry = match o {
                0 => Some(&self.dry_feed[0][..n]),
                _ if o == last => Some(&self.dry_feed[1][..n]),
                _ => None,
            };
            if let Some(dry) = dry {
                for (f, d) in feed.iter_mut().zip(dry) {
                    *f += d;
                }
            }
            let history = &mut self.feed_history[o];
            let mut done = 0;
            while done < n {
                // A run that does not wrap around the ring, written to both copies.
                let p = (start + done) % ring;
                let run = (ring - p).min(n - done);
                history[p..p + run].copy_from_slice(&feed[done..done + run]);
                history[p + ring..p + ring + run].copy_from_slice(&feed[done..done + run]);
                done += run;
            }
            // The delayed feed: the samples `delay` before this chunk's, one contiguous run
            // (the ring is longer than a hop, and stored twice).
            let from = (start + ring - delay) % ring;
            self.staged[o][..n].copy_from_slice(&history[from..from + n]);
        }
        let previewing = !(self.preview.is_settled() && self.preview.target() == 0.0);
        if previewing {
            let fading = self.previous.is_some() && self.since_install < hop;
            for ear in 0..2 {
                for j in 0..n {
                    // The window of `taps` samples ending with sample j, in the doubled ring.
                    let window = (start + j) % ring + ring + 1 - taps;
                    let mut heard = ears_of(&self.current, ear, &self.feed_history, window, taps);
                    if let (true, Some(prev)) = (fading, &self.previous) {
                        let q = self.since_install.saturating_add(j).min(hop) as f32 / hop as f32;
                        let before = ears_of(prev, ear, &self.feed_history, window, taps);
                        heard = before + (heard - before) * q;
                    }
                    self.ear_scratch[ear][j] = heard;
                }
            }
            for j in 0..n {
                let mix = self.preview.tick();
                for (o, staged) in self.staged.iter_mut().enumerate() {
                    let ear = match o {
                        0 => self.ear_scratch[0][j],
                        _ if o == last => self.ear_scratch[1][j],
                        _ => 0.0,
                    };
                    staged[j] += (ear - staged[j]) * mix;
                }
            }
        }
        self.since_install = self.since_install.saturating_add(n);
        self.feed_pos = (start + n) % ring;
    }

    /// One STFT frame: analysis, upmix, filter matrix, synthesis, overlap-add.
    fn run_frame(&mut self) {
        let layout = self.layout;
        let (frame_len, hop, fft_len) = (layout.frame_len, layout.hop, layout.fft_len);
        let width = self.frame_width;
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
        let simd = self.simd;
        simd.run(UpmixFrame {
            upmix: &mut self.upmix,
            left: &self.spectra[0],
            right: &self.spectra[1],
            share: &self.current.centre_share,
            out: &mut self.channels,
        });

        let fade_in = if self.previous.is_some() {
            (self.fade + 1) as f32 / (CROSSFADE_FRAMES + 1) as f32
        } else {
            1.0
        };
        let new_gain = self.current.output_gain(width as f64) as f32 * fade_in;
        let old_gain = self.previous.as_ref().map_or(0.0, |p| {
            p.output_gain(width as f64) as f32 * (1.0 - fade_in)
        });
        let new = Weights {
            base: new_gain,
            width: new_gain * width,
            plain: fade_in,
        };
        let old = self.previous.as_ref().map(|_| Weights {
            base: old_gain,
            width: old_gain * width,
            plain: 1.0 - fade_in,
        });
        if self.matrix_weights != Some((new, old)) {
            simd.run(BuildMatrix {
                sets: [
                    Some((&*self.current, new)),
                    self.previous.as_deref().zip(old),
                ],
                matrix: &mut self.matrix,
            });
            self.matrix_weights = Some((new, old));
        }
        let bins = layout.bins();
        for n in 0..self.outputs {
            simd.run(ApplyMatrix {
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
            // The segment just played is free again; the frame's first hop completes the next.
            let ring = &mut self.overlap[n];
            let segments = fft_len / hop;
            ring[self.ready_segment * hop..(self.ready_segment + 1) * hop].fill(0.0);
            for (j, part) in self.time.chunks_exact(hop).enumerate() {
                let seg = (self.ready_segment + 1 + j) % segments;
                for (o, t) in ring[seg * hop..(seg + 1) * hop].iter_mut().zip(part) {
                    *o += t;
                }
            }
        }
        self.ready_segment = (self.ready_segment + 1) % (fft_len / hop);
        for buf in &mut self.frame_in {
            buf.copy_within(hop..frame_len, 0);
        }
        if self.previous.is_some() {
            self.fade += 1;
            if self.fade >= CROSSFADE_FRAMES {
                if let Some(old) = self.previous.take() {
                    self.retire(old);
                }
                if let Some(next) = self.pending.take() {
                    self.fade_to(next);
                }
            }
        }
    }
}

/// How much of each part of a filter set goes into one frame's output.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Weights {
    /// Of the processed chain at width 0 (loudness gain × crossfade).
    base: f32,
    /// Of the width delta (the same × width).
    width: f32,
    /// Of the sides, the terms on the input's L and R (the crossfade).
    plain: f32,
}

/// The upmix of one frame, as a kernel.
struct UpmixFrame<'a> {
    upmix: &'a mut Upmix,
    left: &'a [Complex32],
    right: &'a [Complex32],
    share: &'a [f32],
    out: &'a mut [Planar; UPMIX_CHANNELS],
}

impl Kernel for UpmixFrame<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        self.upmix
            .process(self.left, self.right, self.share, self.out)
    }
}

/// Builds every output's row of the frame's filter matrix from the weighted filter sets:
/// `M_c = Σ_sets w.base·base_c + w.width·delta_c + w.plain·sides_c`, where the sides, which
/// act on the input's L = L' + C and R = R' + C, land on channel L' or R' and on C.
struct BuildMatrix<'a> {
    sets: [Option<(&'a FilterSet, Weights)>; 2],
    matrix: &'a mut [[Planar; UPMIX_CHANNELS]],
}

impl Kernel for BuildMatrix<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for (output, rows) in self.matrix.iter_mut().enumerate() {
            for (i, (set, w)) in self.sets.iter().flatten().enumerate() {
                // The first set overwrites, the second adds; `keep` is 0 or 1, a select the
                // loop keeps branch-free (the rows only ever hold finite values).
                let keep = if i == 0 { 0.0 } else { 1.0 };
                let base = set.base_row(output);
                let delta = set.delta_row(output);
                let used = set.sides_used[output];
                for (c, ((row, b), d)) in rows.iter_mut().zip(base).zip(delta).enumerate() {
                    // Side 0 acts on L = L' + C, side 1 on R = R' + C.
                    let on = |side: usize| used[side] && (c == side || c == 2);
                    let [p0, p1] = [0, 1].map(|side| if on(side) { w.plain } else { 0.0 });
                    let bins = row.len();
                    let ((br, bi), (dr, di)) = (b.parts(bins), d.parts(bins));
                    let (s0r, s0i) = set.side_row(0, output).parts(bins);
                    let (s1r, s1i) = set.side_row(1, output).parts(bins);
                    let (mr, mi) = (&mut row.re[..bins], &mut row.im[..bins]);
                    for k in 0..bins {
                        mr[k] = mr[k] * keep
                            + br[k] * w.base
                            + dr[k] * w.width
                            + s0r[k] * p0
                            + s1r[k] * p1;
                        mi[k] = mi[k] * keep
                            + bi[k] * w.base
                            + di[k] * w.width
                            + s0i[k] * p0
                            + s1i[k] * p1;
                    }
                }
            }
        }
    }
}

/// One output's spectrum: `out = Σ_c M_c·x_c` over the upmix channels, from planar rows
/// (pre-sliced to the bin count, so the loop compiles to SIMD) into the interleaved
/// spectrum the inverse FFT takes.
struct ApplyMatrix<'a> {
    matrix: &'a [Planar; UPMIX_CHANNELS],
    channels: &'a [Planar; UPMIX_CHANNELS],
    out: &'a mut [Complex32],
}

impl Kernel for ApplyMatrix<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let bins = self.out.len();
        let [m0, m1, m2] = self.matrix.each_ref().map(|p| p.all().parts(bins));
        let [x0, x1, x2] = self.channels.each_ref().map(|p| p.all().parts(bins));
        let ((m0r, m0i), (m1r, m1i), (m2r, m2i)) = (m0, m1, m2);
        let ((x0r, x0i), (x1r, x1i), (x2r, x2i)) = (x0, x1, x2);
        for (k, o) in self.out.iter_mut().enumerate() {
            let re = m0r[k] * x0r[k] - m0i[k] * x0i[k] + m1r[k] * x1r[k] - m1i[k] * x1i[k]
                + m2r[k] * x2r[k]
                - m2i[k] * x2i[k];
            let im = m0r[k] * x0i[k]
                + m0i[k] * x0r[k]
                + m1r[k] * x1i[k]
                + m1i[k] * x1r[k]
                + m2r[k] * x2i[k]
                + m2i[k] * x2r[k];
            *o = Complex32::new(re, im);
        }
    }
}

/// Copies `out.len()` values of the ring buffer `ring` from position `from` on, wrapping.
fn ring_read(ring: &[f32], from: usize, out: &mut [f32]) {
    let first = (ring.len() - from).min(out.len());
    out[..first].copy_from_slice(&ring[from..from + first]);
    let rest = out.len() - first;
    out[first..].copy_from_slice(&ring[..rest]);
}

/// What ear `ear` hears through `set`'s ear responses from the feed window starting at
/// `window` in each driver's history: the sum over drivers of each window convolved with its
/// (time-reversed) response.
#[inline]
fn ears_of(set: &FilterSet, ear: usize, history: &[Vec<f32>], window: usize, taps: usize) -> f32 {
    history
        .iter()
        .enumerate()
        .map(|(driver, feed)| {
            let response = set.ear_response(ear, driver);
            feed[window..window + taps]
                .iter()
                .zip(response)
                .map(|(x, h)| *x as f64 * *h as f64)
                .sum::<f64>()
        })
        .sum::<f64>() as f32
}
