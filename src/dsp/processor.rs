//! The whole audio callback without the plugin framework: take the designer's new filter
//! sets, copy the in-place input aside, run the engine, meter. The plugin's `process()` is
//! this plus reading its parameters, so the allocation and automation tests that drive a
//! [`Processor`] drive exactly what a host runs.

use super::contract::Controls;
use super::engine::Engine;
use super::handover::AudioSide;
use super::meters::{MeterIntegrator, Meters};

/// One instance's real-time state. Built (and allocated) in `activate()`.
pub struct Processor {
    engine: Engine,
    handover: AudioSide,
    /// The input copied out of the host's in-place buffers, one block at most.
    input: [Vec<f32>; 2],
    meters: MeterIntegrator,
}

impl Processor {
    /// A processor for host blocks of up to `max_block` samples (longer calls are split).
    pub fn new(engine: Engine, handover: AudioSide, max_block: usize, sample_rate: f64) -> Self {
        let max_block = max_block.max(1);
        Self {
            engine,
            handover,
            input: [vec![0.0; max_block], vec![0.0; max_block]],
            meters: MeterIntegrator::new(sample_rate),
        }
    }

    /// The engine (latency, output count, the filters playing).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Installs whatever the designer sent and hands back what the engine retired.
    pub fn poll(&mut self) {
        self.handover.poll(&mut self.engine);
    }

    /// Clears the signal state (transport jumps, host resets) and restarts the controls.
    pub fn reset(&mut self, controls: Controls) {
        self.engine.reset();
        self.engine.set_controls(controls);
        self.engine.settle_controls();
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

/// Most output channels a processor drives (the widest layout any host can select).
pub const MAX_OUTPUTS: usize = 8;
