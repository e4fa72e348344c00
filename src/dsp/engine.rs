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
use super::smoothing::Glide;
use super::upmix::Upmix;
use crate::design::filterset::{FilterSet, FrameLayout, UPMIX_CHANNELS};
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Frames over which a new filter set fades in (about 21 ms at 48 kHz).
pub const CROSSFADE_FRAMES: usize = 2;

/// Time constant of the width glide, seconds.
pub const WIDTH_GLIDE_S: f64 = 0.010;

/// Time constant of the output-gain glide, seconds.
pub const GAIN_GLIDE_S: f64 = 0.010;

/// Time constant of the bypass crossfade, seconds.
pub const BYPASS_GLIDE_S: f64 = 0.005;

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
    frame_width: Vec<f32>,
    fill: usize,
    time: Vec<f32>,
    spectra: [Vec<Complex32>; 2],
    channels: [Vec<Complex32>; UPMIX_CHANNELS],
    out_spectrum: Vec<Complex32>,
    overlap: Vec<Vec<f32>>,
    ready: Vec<Vec<f32>>,
    upmix: Upmix,
    current: Box<FilterSet>,
    previous: Option<Box<FilterSet>>,
    pending: Option<Box<FilterSet>>,
    retired: [Option<Box<FilterSet>>; 4],
    fade: usize,
    dry: [Vec<f32>; 2],
    control_delay: Vec<(f32, f32)>,
    delay_pos: usize,
    width: Glide,
    gain: Glide,
    bypass: Glide,
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
            frame_width: vec![controls.width; layout.frame_len],
            fill: 0,
            time: vec![0.0; layout.fft_len],
            spectra: [zeros.clone(), zeros.clone()],
            channels: [zeros.clone(), zeros.clone(), zeros.clone()],
            out_spectrum: zeros,
            overlap: vec![vec![0.0; layout.fft_len]; outputs],
            ready: vec![vec![0.0; layout.hop]; outputs],
            upmix: Upmix::new(bins, layout.hop, sample_rate),
            current: filters,
            previous: None,
            pending: None,
            retired: [None, None, None, None],
            fade: 0,
            dry: [vec![0.0; latency], vec![0.0; latency]],
            control_delay: vec![(controls.gain, if controls.bypass { 1.0 } else { 0.0 }); latency],
            delay_pos: 0,
            width: Glide::new(controls.width, WIDTH_GLIDE_S, sample_rate),
            gain: Glide::new(controls.gain, GAIN_GLIDE_S, sample_rate),
            bypass: Glide::new(
                if controls.bypass { 1.0 } else { 0.0 },
                BYPASS_GLIDE_S,
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
        self.frame_width.fill(self.width.target());
        let held = (self.gain.target(), self.bypass.target());
        self.control_delay.fill(held);
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
            let old = std::mem::replace(&mut self.current, filters);
            self.previous = Some(old);
            self.fade = 0;
        }
        Ok(())
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
        for buf in self.overlap.iter_mut().chain(self.ready.iter_mut()) {
            buf.fill(0.0);
        }
        for buf in &mut self.dry {
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
        let latency = self.layout.latency();
        let in_offset = self.layout.frame_len - hop;
        let mut i = 0;
        while i < len {
            let chunk = (hop - self.fill).min(len - i);
            for j in 0..chunk {
                let t = i + j;
                let (mut l, mut r) = (input[0][t], input[1][t]);
                if !(l.abs() <= MAX_INPUT && r.abs() <= MAX_INPUT) {
                    // NaN, ±Inf or absurd values: forget everything, continue from silence.
                    self.reset();
                    l = 0.0;
                    r = 0.0;
                }
                let pos = in_offset + self.fill + j;
                self.frame_in[0][pos] = l;
                self.frame_in[1][pos] = r;
                self.frame_width[pos] = self.width.tick();
                let dry_l = std::mem::replace(&mut self.dry[0][self.delay_pos], l);
                let dry_r = std::mem::replace(&mut self.dry[1][self.delay_pos], r);
                let now = (self.gain.tick(), self.bypass.tick());
                let (gain, mix) = std::mem::replace(&mut self.control_delay[self.delay_pos], now);
                self.delay_pos += 1;
                if self.delay_pos == latency {
                    self.delay_pos = 0;
                }
                let last = self.outputs - 1;
                for (n, out) in output.iter_mut().enumerate() {
                    let dry = if n == 0 {
                        dry_l
                    } else if n == last {
                        dry_r
                    } else {
                        0.0
                    };
                    let wet = (dry + self.ready[n][self.fill + j]) * gain;
                    let v = wet + (dry - wet) * mix;
                    out[t] = if v.is_finite() { v } else { 0.0 };
                }
            }
            i += chunk;
            self.fill += chunk;
            if self.fill == hop {
                self.run_frame();
                self.fill = 0;
            }
        }
    }

    /// One STFT frame: analysis, upmix, filter matrix, synthesis, overlap-add.
    fn run_frame(&mut self) {
        let layout = self.layout;
        let (frame_len, hop, fft_len) = (layout.frame_len, layout.hop, layout.fft_len);
        let width = self.frame_width[frame_len / 2];
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
        self.upmix.process(
            &self.spectra[0],
            &self.spectra[1],
            &self.current.centre_share,
            &mut self.channels,
        );

        let fade_in = if self.previous.is_some() {
            (self.fade + 1) as f32 / (CROSSFADE_FRAMES + 1) as f32
        } else {
            1.0
        };
        let new_gain = self.current.output_gain(width as f64) as f32 * fade_in;
        let old_gain = self.previous.as_ref().map_or(0.0, |p| {
            p.output_gain(width as f64) as f32 * (1.0 - fade_in)
        });
        let bins = layout.bins();
        for n in 0..self.outputs {
            apply_matrix(
                &self.current,
                n,
                width,
                new_gain,
                fade_in,
                &self.channels,
                &mut self.out_spectrum,
                false,
            );
            if let Some(prev) = &self.previous {
                apply_matrix(
                    prev,
                    n,
                    width,
                    old_gain,
                    1.0 - fade_in,
                    &self.channels,
                    &mut self.out_spectrum,
                    true,
                );
            }
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
            let overlap = &mut self.overlap[n];
            for (o, t) in overlap.iter_mut().zip(&self.time) {
                *o += t;
            }
            self.ready[n].copy_from_slice(&overlap[..hop]);
            overlap.copy_within(hop..fft_len, 0);
            overlap[fft_len - hop..].fill(0.0);
        }
        for buf in self
            .frame_in
            .iter_mut()
            .chain(std::iter::once(&mut self.frame_width))
        {
            buf.copy_within(hop..frame_len, 0);
        }
        if self.previous.is_some() {
            self.fade += 1;
            if self.fade >= CROSSFADE_FRAMES {
                if let Some(old) = self.previous.take() {
                    self.retire(old);
                }
                if let Some(next) = self.pending.take() {
                    let old = std::mem::replace(&mut self.current, next);
                    self.previous = Some(old);
                    self.fade = 0;
                }
            }
        }
    }
}

/// `out = Σ_c (gain·(base + width·delta) − fade·bass)[n][c] · x_c` per bin (or `+=` when
/// `accumulate`): the processed chain replacing the plain feed above the crossover, scaled
/// by the loudness gain and the crossfade.
#[inline]
#[allow(clippy::too_many_arguments)]
fn apply_matrix(
    set: &FilterSet,
    output: usize,
    width: f32,
    gain: f32,
    fade: f32,
    channels: &[Vec<Complex32>; UPMIX_CHANNELS],
    out: &mut [Complex32],
    accumulate: bool,
) {
    let stride = set.outputs * UPMIX_CHANNELS;
    let offset = output * UPMIX_CHANNELS;
    let base = &set.base[offset..];
    let delta = &set.width_delta[offset..];
    let bass = &set.bass_complement[offset..];
    let [x0, x1, x2] = channels;
    for (k, o) in out.iter_mut().enumerate() {
        let i = k * stride;
        let h0 = (base[i] + delta[i] * width) * gain - bass[i] * fade;
        let h1 = (base[i + 1] + delta[i + 1] * width) * gain - bass[i + 1] * fade;
        let h2 = (base[i + 2] + delta[i + 2] * width) * gain - bass[i + 2] * fade;
        let y = h0 * x0[k] + h1 * x1[k] + h2 * x2[k];
        *o = if accumulate { *o + y } else { y };
    }
}
