//! Offline rendering: the engine run over whole buffers, latency compensated. The CLI, the
//! tests and the benchmarks render through here; the plugin streams through the same engine.

use crate::design::config::settings::Settings;
use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::dsp::engine::Engine;

/// A fresh engine running the design for `settings` with `outputs` outputs.
pub fn engine_for(
    settings: &Settings,
    outputs: usize,
    sample_rate: f64,
    plant: &dyn Plant,
) -> (Engine, Design) {
    let made = design(
        &DesignInput {
            settings: *settings,
            outputs,
            sample_rate,
        },
        plant,
    );
    let mut engine = Engine::new(
        Box::new(made.filters.clone()),
        sample_rate,
        settings.controls(),
    );
    engine.settle_controls();
    (engine, made)
}

/// Streams `left`/`right` through `engine` in blocks whose sizes cycle through `blocks`, then
/// flushes the latency with silence and drops it, so output sample i lines up with input i.
/// `progress` is called with the number of input samples done after every block.
pub fn stream(
    engine: &mut Engine,
    left: &[f32],
    right: &[f32],
    blocks: &[usize],
    mut progress: impl FnMut(usize),
) -> Vec<Vec<f32>> {
    assert_eq!(
        left.len(),
        right.len(),
        "channels must have the same length"
    );
    assert!(
        !blocks.is_empty() && blocks.iter().all(|&b| b > 0),
        "block sizes must be positive"
    );
    let latency = engine.latency();
    let len = left.len();
    let total = len + latency;
    let outputs = engine.outputs();
    let mut out = vec![vec![0.0f32; total]; outputs];
    let zeros = vec![0.0f32; *blocks.iter().max().expect("non-empty")];
    let mut pos = 0;
    let mut which = 0;
    while pos < total {
        let block = blocks[which % blocks.len()].min(total - pos);
        which += 1;
        let input: [&[f32]; 2] = if pos + block <= len {
            [&left[pos..pos + block], &right[pos..pos + block]]
        } else if pos >= len {
            [&zeros[..block], &zeros[..block]]
        } else {
            // A block straddling the end: process the remaining input, then silence.
            let head = len - pos;
            let mut slices: Vec<&mut [f32]> =
                out.iter_mut().map(|o| &mut o[pos..pos + head]).collect();
            engine.process([&left[pos..], &right[pos..]], &mut slices);
            pos += head;
            progress(pos.min(len));
            continue;
        };
        let mut slices: Vec<&mut [f32]> =
            out.iter_mut().map(|o| &mut o[pos..pos + block]).collect();
        engine.process(input, &mut slices);
        pos += block;
        progress(pos.min(len));
    }
    for o in &mut out {
        o.drain(..latency);
    }
    out
}

/// Designs for `settings` and renders `left`/`right` in 512-sample blocks.
pub fn render(
    settings: &Settings,
    outputs: usize,
    sample_rate: f64,
    plant: &dyn Plant,
    left: &[f32],
    right: &[f32],
) -> Vec<Vec<f32>> {
    let (mut engine, _) = engine_for(settings, outputs, sample_rate, plant);
    stream(&mut engine, left, right, &[512], |_| {})
}
