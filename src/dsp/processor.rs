//! The whole audio callback without the plugin framework: take the designer's new filter
//! sets, copy the in-place input aside, run the engine, meter. The plugin's `process()` is
//! this plus reading its parameters, so the allocation and automation tests that drive a
//! [`Processor`] drive exactly what a host runs.
//!
//! A processor may hold a second engine, of the other latency mode, standing by: switching
//! the mode then takes effect at once and the latency reported to the host is always the
//! one playing, whether or not the host restarts the plugin when told. The engine playing
//! fades out while the other starts from silence and fades in once its latency has passed.

use super::contract::{Controls, LatencyMode};
use super::engine::Engine;
use super::handover::AudioSide;
use super::meters::{MeterIntegrator, Meters};
use super::smoothing::Crossfade;

/// How long a switch of latency mode fades the engine that was playing out, and the other
/// in, seconds: long enough not to click, short against the gap the new latency makes.
pub const LATENCY_SWITCH_FADE_S: f64 = 0.010;

/// One instance's real-time state. Built (and allocated) in `activate()`.
pub struct Processor {
    /// The engine playing.
    engine: Engine,
    /// The other latency mode's engine, if the processor was given one.
    standby: Option<Standby>,
    handover: AudioSide,
    /// The input copied out of the host's in-place buffers, one block at most.
    input: [Vec<f32>; 2],
    meters: MeterIntegrator,
}

/// The engine of the other latency mode and what a switch to it needs.
struct Standby {
    engine: Engine,
    /// Gain of the engine playing (fades in after a switch).
    fade_in: Crossfade,
    /// Gain of the engine that was playing before the switch, now in `engine` (fades out).
    fade_out: Crossfade,
    /// Samples until the engine switched to has filled its latency and starts to fade in.
    fade_in_after: usize,
    /// The fading-out engine's outputs for one chunk.
    scratch: Vec<Vec<f32>>,
}

impl Processor {
    /// A processor for host blocks of up to `max_block` samples (longer calls are split).
    pub fn new(engine: Engine, handover: AudioSide, max_block: usize, sample_rate: f64) -> Self {
        let max_block = max_block.max(1);
        Self {
            engine,
            standby: None,
            handover,
            input: [vec![0.0; max_block], vec![0.0; max_block]],
            meters: MeterIntegrator::new(sample_rate),
        }
    }

    /// Gives the processor `engine`, of the other latency mode than the one playing, to
    /// switch to with [`Self::select_latency`] (allocates: call it where the processor is
    /// built).
    pub fn with_standby(mut self, engine: Engine, sample_rate: f64) -> Self {
        let block = self.input[0].len();
        let fade = |value| Crossfade::new(value, LATENCY_SWITCH_FADE_S, sample_rate);
        self.standby = Some(Standby {
            scratch: vec![vec![0.0; block]; engine.outputs()],
            engine,
            fade_in: fade(1.0),
            fade_out: fade(0.0),
            fade_in_after: 0,
        });
        self
    }

    /// The engine playing (latency, output count, the filters playing).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Makes the engine of latency mode `mode` the one playing, if the processor has it and
    /// it is not playing already; returns whether it switched (the host must then be told
    /// the new latency). Allocates nothing.
    pub fn select_latency(&mut self, mode: LatencyMode) -> bool {
        let Some(standby) = &mut self.standby else {
            return false;
        };
        if self.engine.layout().mode == mode || standby.engine.layout().mode != mode {
            return false;
        }
        std::mem::swap(&mut self.engine, &mut standby.engine);
        let playing = standby.fade_in.tick();
        let still_heard = standby.fade_out.tick();
        if still_heard > 0.0 {
            // Switched back while it was fading out: it fades back in from where it is.
            standby.fade_in.jump(still_heard);
            standby.fade_in_after = 0;
        } else {
            // It starts from silence (what it held is from long ago), and its first frames
            // hold the input's abrupt start: they pass unheard, with its latency.
            self.engine.reset();
            standby.fade_in.jump(0.0);
            standby.fade_in_after = self.engine.latency() + self.engine.layout().frame_len;
        }
        standby.fade_out.jump(playing);
        standby.fade_out.set_target(0.0);
        true
    }

    /// Installs whatever the designer sent (into the engine it was designed for) and hands
    /// back what the engines retired.
    pub fn poll(&mut self) {
        let standby = self.standby.as_mut().map(|s| &mut s.engine);
        self.handover.poll_engines(&mut self.engine, standby);
    }

    /// Clears the signal state (transport jumps, host resets) and restarts the controls.
    pub fn reset(&mut self, controls: Controls) {
        self.engine.reset();
        self.engine.set_controls(controls);
        self.engine.settle_controls();
        if let Some(standby) = &mut self.standby {
            standby.engine.reset();
            standby.fade_in.jump(1.0);
            standby.fade_out.jump(0.0);
            standby.fade_in_after = 0;
        }
    }

    /// Processes one host block in place: `channels[0]` and `channels[1]` hold the stereo
    /// input, every channel receives its driver feed. `meters` is given only while someone
    /// looks at them (the editor is open). Never allocates, locks or waits.
    pub fn process(
        &mut self,
        controls: Controls,
        channels: &mut [&mut [f32]],
        meters: Option<&Meters>,
    ) {
        self.poll();
        self.engine.set_controls(controls);
        if let Some(standby) = &mut self.standby {
            standby.engine.set_controls(controls);
        }
        let outputs = self.engine.outputs();
        if channels.len() < outputs.max(2) {
            for ch in channels.iter_mut() {
                ch.fill(0.0);
            }
            return;
        }
        let samples = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let max_block = self.input[0].len();
        let mut start = 0;
        while start < samples {
            let end = (start + max_block).min(samples);
            let n = end - start;
            self.input[0][..n].copy_from_slice(&channels[0][start..end]);
            self.input[1][..n].copy_from_slice(&channels[1][start..end]);
            let [left, right] = &self.input;
            let input = [&left[..n], &right[..n]];
            // Reborrow each output's slice of this chunk without allocating.
            let mut chunk: [&mut [f32]; MAX_OUTPUTS] = Default::default();
            for (slot, ch) in chunk.iter_mut().zip(channels.iter_mut()).take(outputs) {
                *slot = &mut ch[start..end];
            }
            self.engine.process(input, &mut chunk[..outputs]);
            if let Some(standby) = self.standby.as_mut().filter(|s| s.switching()) {
                standby.mix(input, &mut chunk[..outputs]);
            }
            if let Some(m) = meters {
                self.meters.update(input, &chunk[..outputs], m);
            }
            start = end;
        }
        for ch in channels.iter_mut().skip(outputs) {
            ch.fill(0.0);
        }
    }
}

impl Standby {
    /// Whether a switch is still running: the old engine fading out, or the new one waiting
    /// for its latency or fading in.
    fn switching(&self) -> bool {
        !self.fade_out.is_settled()
            || self.fade_in_after > 0
            || !self.fade_in.is_settled()
            || self.fade_in.target() < 1.0
    }

    /// Applies the running switch to one chunk: `output` holds the playing engine's output,
    /// which is faded in once its latency has passed; the engine switched from runs on the
    /// same input and fades out on top.
    fn mix(&mut self, input: [&[f32]; 2], output: &mut [&mut [f32]]) {
        let n = input[0].len();
        let fading_out = !self.fade_out.is_settled();
        if fading_out {
            let mut scratch: [&mut [f32]; MAX_OUTPUTS] = Default::default();
            for (slot, ch) in scratch.iter_mut().zip(self.scratch.iter_mut()) {
                *slot = &mut ch[..n];
            }
            self.engine.process(input, &mut scratch[..output.len()]);
        }
        for i in 0..n {
            if self.fade_in_after == 0 {
                self.fade_in.set_target(1.0);
            } else {
                self.fade_in_after -= 1;
            }
            let gain_in = self.fade_in.tick();
            let gain_out = self.fade_out.tick();
            for (o, ch) in output.iter_mut().enumerate() {
                let old = if fading_out { self.scratch[o][i] } else { 0.0 };
                ch[i] = ch[i] * gain_in + old * gain_out;
            }
        }
    }
}

/// Most output channels a processor drives (the widest layout any host can select).
pub const MAX_OUTPUTS: usize = 8;
