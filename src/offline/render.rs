//! Offline rendering: the engine run over whole buffers, latency compensated. The CLI, the
//! tests and the benchmarks render through here; the plugin streams through the same engine.

use crate::design::config::settings::Settings;
use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::dsp::contract::FilterSet;
use crate::dsp::engine::Engine;
use crate::offline::poses::PoseTrack;
use crate::tracking::follower::beyond_dead_band;
use crate::tracking::Pose;

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
    progress: impl FnMut(usize),
) -> Vec<Vec<f32>> {
    stream_with(engine, left, right, blocks, |_, _| {}, progress)
}

/// [`stream`], with `before_block` called with the engine and the input position before
/// every block (to install new filters, as the plugin's designer does between callbacks).
pub fn stream_with(
    engine: &mut Engine,
    left: &[f32],
    right: &[f32],
    blocks: &[usize],
    mut before_block: impl FnMut(&mut Engine, usize),
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
        before_block(engine, pos);
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

/// Streams `left`/`right` through `engine` as [`stream`] does while the listener moves along
/// `track`: before each block the pose at its start is looked up and, when it has moved
/// beyond the tracker's dead band (or has stopped somewhere not yet designed for), `design`
/// makes the filters for it, which the engine crossfades to exactly as it does for a live
/// tracker. `playing` is the pose the engine's filters are for. Every design is waited for,
/// so a render is the same every time. Returns the output and how many designs were made.
pub fn stream_following(
    engine: &mut Engine,
    (left, right): (&[f32], &[f32]),
    (sample_rate, playing): (f64, Pose),
    track: &PoseTrack,
    mut design: impl FnMut(Pose) -> Option<Box<FilterSet>>,
    progress: impl FnMut(usize),
) -> (Vec<Vec<f32>>, usize) {
    let mut designed = playing;
    let mut designs = 0;
    let before = |engine: &mut Engine, pos: usize| {
        while engine.take_retired().is_some() {}
        let at = |p: usize| track.at(p as f64 / sample_rate);
        let pose = at(pos);
        let held = at(pos + FOLLOW_BLOCK) == pose;
        if beyond_dead_band(pose, designed) || (held && designed != pose) {
            // A pose that cannot be designed for keeps the last design, and is tried again
            // at the next block.
            if let Some(set) = design(pose) {
                if engine.install(set).is_ok() {
                    designs += 1;
                    designed = pose;
                }
            }
        }
    };
    let out = stream_with(engine, left, right, &[FOLLOW_BLOCK], before, progress);
    (out, designs)
}

/// Block size of a render that follows a trajectory: the pose is looked up 47 times a second
/// at 48 kHz, as often as a fast tracker sends.
pub const FOLLOW_BLOCK: usize = 1024;
