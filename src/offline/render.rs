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
    let len = left.len();
    let mut out = vec![Vec::with_capacity(len); engine.outputs()];
    let mut aligned = Aligned::new(engine, blocks);
    let mut each_block = |engine: &mut Engine, pos: usize| {
        progress(pos.min(len));
        before_block(engine, pos);
    };
    aligned.feed([left, right], &mut out, &mut each_block);
    aligned.finish(&mut out, &mut each_block);
    progress(len);
    out
}

/// An engine run over input that arrives a chunk at a time, its latency compensated: the
/// output's frame i lines up with the input's frame i, as [`stream`]'s does. Blocks cycle
/// through the sizes given and are cut short only at a chunk's end, so that chunks of a
/// multiple of one block size render exactly as the whole input at once.
pub struct Aligned<'e> {
    engine: &'e mut Engine,
    blocks: Vec<usize>,
    which: usize,
    /// Input frames fed so far, the flush's silence included.
    position: usize,
    /// Output frames still to drop (the latency).
    to_drop: usize,
    zeros: Vec<f32>,
    scratch: Vec<Vec<f32>>,
}

impl<'e> Aligned<'e> {
    /// Runs `engine` in blocks cycling through `blocks` (each positive).
    pub fn new(engine: &'e mut Engine, blocks: &[usize]) -> Self {
        assert!(
            !blocks.is_empty() && blocks.iter().all(|&b| b > 0),
            "block sizes must be positive"
        );
        let largest = *blocks.iter().max().expect("non-empty");
        let outputs = engine.outputs();
        Self {
            to_drop: engine.latency(),
            engine,
            blocks: blocks.to_vec(),
            which: 0,
            position: 0,
            zeros: vec![0.0; largest],
            scratch: vec![vec![0.0; largest]; outputs],
        }
    }

    /// Processes the next chunk (`left` and `right` the same length) and appends the output
    /// it completes to `out`, one vector per output; `before_block` is called with the
    /// engine and the input position before every block.
    pub fn feed(
        &mut self,
        [left, right]: [&[f32]; 2],
        out: &mut [Vec<f32>],
        before_block: &mut impl FnMut(&mut Engine, usize),
    ) {
        assert_eq!(
            left.len(),
            right.len(),
            "channels must have the same length"
        );
        let mut at = 0;
        while at < left.len() {
            let block = self.blocks[self.which % self.blocks.len()].min(left.len() - at);
            self.which += 1;
            before_block(self.engine, self.position);
            self.block([&left[at..at + block], &right[at..at + block]], out);
            at += block;
        }
    }

    /// Flushes the latency with silence, appending the rest of the output to `out`.
    pub fn finish(
        &mut self,
        out: &mut [Vec<f32>],
        before_block: &mut impl FnMut(&mut Engine, usize),
    ) {
        let mut left = self.engine.latency();
        let zeros = std::mem::take(&mut self.zeros);
        while left > 0 {
            let block = self.blocks[self.which % self.blocks.len()].min(left);
            self.which += 1;
            before_block(self.engine, self.position);
            self.block([&zeros[..block], &zeros[..block]], out);
            left -= block;
        }
        self.zeros = zeros;
    }

    /// One block through the engine, its output past the latency appended to `out`.
    fn block(&mut self, input: [&[f32]; 2], out: &mut [Vec<f32>]) {
        let block = input[0].len();
        let mut slices: Vec<&mut [f32]> =
            self.scratch.iter_mut().map(|s| &mut s[..block]).collect();
        self.engine.process(input, &mut slices);
        let skip = self.to_drop.min(block);
        self.to_drop -= skip;
        for (o, s) in out.iter_mut().zip(&self.scratch) {
            o.extend_from_slice(&s[skip..block]);
        }
        self.position += block;
    }
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
/// `track` (see [`Following`]). `playing` is the pose the engine's filters are for. Returns
/// the output and how many designs were made.
pub fn stream_following(
    engine: &mut Engine,
    (left, right): (&[f32], &[f32]),
    (sample_rate, playing): (f64, Pose),
    track: &PoseTrack,
    design: impl FnMut(Pose) -> Option<Box<FilterSet>>,
    progress: impl FnMut(usize),
) -> (Vec<Vec<f32>>, usize) {
    let mut following = Following::new(track, sample_rate, playing, design);
    let before = |engine: &mut Engine, pos: usize| following.before_block(engine, pos);
    let out = stream_with(engine, left, right, &[FOLLOW_BLOCK], before, progress);
    (out, following.designs())
}

/// A render that follows a listener along a trajectory: before each block the pose at its
/// start is looked up and, when it has moved beyond the tracker's dead band (or has stopped
/// somewhere not yet designed for), `design` makes the filters for it, which the engine
/// crossfades to exactly as it does for a live tracker. Every design is waited for, so a
/// render is the same every time.
pub struct Following<'t, D> {
    track: &'t PoseTrack,
    sample_rate: f64,
    designed: Pose,
    designs: usize,
    design: D,
}

impl<'t, D: FnMut(Pose) -> Option<Box<FilterSet>>> Following<'t, D> {
    /// Follows `track` at `sample_rate`, the engine's filters being for `playing`.
    pub fn new(track: &'t PoseTrack, sample_rate: f64, playing: Pose, design: D) -> Self {
        Self {
            track,
            sample_rate,
            designed: playing,
            designs: 0,
            design,
        }
    }

    /// Called before the block that starts at input position `pos`.
    pub fn before_block(&mut self, engine: &mut Engine, pos: usize) {
        while engine.take_retired().is_some() {}
        let at = |p: usize| self.track.at(p as f64 / self.sample_rate);
        let pose = at(pos);
        let held = at(pos + FOLLOW_BLOCK) == pose;
        if beyond_dead_band(pose, self.designed) || (held && self.designed != pose) {
            // A pose that cannot be designed for keeps the last design, and is tried again
            // at the next block.
            if let Some(set) = (self.design)(pose) {
                if engine.install(set).is_ok() {
                    self.designs += 1;
                    self.designed = pose;
                }
            }
        }
    }

    /// How many designs were made and installed.
    pub fn designs(&self) -> usize {
        self.designs
    }
}

/// Block size of a render that follows a trajectory: the pose is looked up 47 times a second
/// at 48 kHz, as often as a fast tracker sends.
pub const FOLLOW_BLOCK: usize = 1024;
