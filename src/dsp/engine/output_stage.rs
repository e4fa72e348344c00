//! The output stage after the STFT: the driver feeds (the dry input's feed tap plus the
//! STFT's output) delayed by the output delay, or, in the headphone preview, the feeds
//! through the ear responses of the design's listener (left ear on the leftmost output,
//! right ear on the rightmost, the inner outputs silent), crossfaded by the preview glide.

use super::dry_delay::DryDelay;
use super::ear_convolver::EarConvolver;
use super::overlap_add::OverlapAdd;
use crate::dsp::contract::{plain_side, FilterSet, FrameLayout};
use crate::dsp::smoothing::Crossfade;

/// Length of the crossfade into and out of the headphone preview, seconds.
pub const PREVIEW_FADE_S: f64 = 0.050;

/// The output stage of one engine.
pub struct OutputStage {
    /// Samples per hop (the longest chunk).
    hop: usize,
    /// Taps of the ear responses.
    taps: usize,
    /// The stage's delay, samples.
    delay: usize,
    /// Per output, the driver feed's recent past: a ring of `taps + hop` samples stored twice
    /// over, so that the window the stage reads (its delayed feed, or the span its ear
    /// responses convolve) is always one contiguous slice.
    history: Vec<Vec<f32>>,
    /// Where the next feed sample goes in the ring.
    pos: usize,
    /// One output's feed for the current chunk, on its way into the ring.
    feed: Vec<f32>,
    /// Per output, what the stage makes of the current chunk.
    staged: Vec<Vec<f32>>,
    /// The left and right ear of the headphone preview for the current chunk.
    ears: [Vec<f32>; 2],
    /// How much of the outer outputs the preview's ears replace.
    preview: Crossfade,
    /// The preview's ear filters.
    convolver: EarConvolver,
}

impl OutputStage {
    /// A silent stage for `outputs` outputs in `layout`, starting with the preview on or off.
    pub fn new(layout: FrameLayout, outputs: usize, preview: bool, sample_rate: f64) -> Self {
        let (hop, taps) = (layout.hop, layout.ear_taps());
        Self {
            hop,
            taps,
            delay: layout.output_delay,
            history: vec![vec![0.0; 2 * (taps + hop)]; outputs],
            pos: 0,
            feed: vec![0.0; hop],
            staged: vec![vec![0.0; hop]; outputs],
            ears: [vec![0.0; hop], vec![0.0; hop]],
            preview: Crossfade::new(if preview { 1.0 } else { 0.0 }, PREVIEW_FADE_S, sample_rate),
            convolver: EarConvolver::new(outputs, taps),
        }
    }

    /// Turns the preview on or off, gliding from the next sample on.
    pub fn set_preview(&mut self, on: bool) {
        self.preview.set_target(if on { 1.0 } else { 0.0 });
    }

    /// Jumps the preview to its target.
    pub fn settle(&mut self) {
        self.preview.jump(self.preview.target());
    }

    /// Stages a chunk of `n` samples: the STFT's output from `offset` within the hop being
    /// played, the dry feed of `dry`'s last chunk, through `current`'s ear responses in the
    /// preview (fading from a previous set's while `ear_fade` says one fades out, given with
    /// the samples since its fade began; `epoch` changes whenever the sets do).
    // NOTE: eight arguments: the chunk, its two sources, the sets and their epoch are each
    // needed here, and bundling them would only move the list.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        n: usize,
        wet: &OverlapAdd,
        offset: usize,
        dry: &DryDelay,
        current: &FilterSet,
        ear_fade: Option<(&FilterSet, usize)>,
        epoch: u64,
    ) {
        let ring = self.taps + self.hop;
        let outputs = self.history.len();
        let start = self.pos;
        for o in 0..outputs {
            let feed = &mut self.feed[..n];
            feed.copy_from_slice(wet.ready(o, offset, n));
            if let Some(side) = plain_side(o, outputs) {
                for (f, d) in feed.iter_mut().zip(dry.feed(side, n)) {
                    *f += d;
                }
            }
            let history = &mut self.history[o];
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
            let from = (start + ring - self.delay) % ring;
            self.staged[o][..n].copy_from_slice(&history[from..from + n]);
        }
        let previewing = !(self.preview.is_settled() && self.preview.target() == 0.0);
        if previewing {
            self.preview_ears(n, current, ear_fade, epoch);
        } else {
            self.convolver.skip(n);
        }
        self.pos = (start + n) % ring;
    }

    /// Replaces the outer outputs' staged feeds by the ears, by the preview crossfade.
    fn preview_ears(
        &mut self,
        n: usize,
        current: &FilterSet,
        ear_fade: Option<(&FilterSet, usize)>,
        epoch: u64,
    ) {
        let ring = self.taps + self.hop;
        let hop = self.hop;
        let start = self.pos;
        let fading = ear_fade.filter(|&(_, since)| since < hop);
        let before_chunk = (start + ring - 1) % ring + ring;
        self.convolver.prepare(
            current,
            fading.map(|(set, _)| set),
            epoch,
            &self.history,
            before_chunk,
        );
        for j in 0..n {
            // Sample j's place in the doubled ring: every window ending there is contiguous.
            let at = (start + j) % ring + ring;
            for ear in 0..2 {
                let mut heard = self.convolver.heard(0, current, ear, &self.history, at);
                if let Some((previous, since)) = fading {
                    let q = since.saturating_add(j).min(hop) as f64 / hop as f64;
                    let before = self.convolver.heard(1, previous, ear, &self.history, at);
                    heard = before + (heard - before) * q;
                }
                self.ears[ear][j] = heard as f32;
            }
            self.convolver.advance(&self.history, at, fading.is_some());
        }
        let outputs = self.staged.len();
        for j in 0..n {
            let mix = self.preview.tick();
            for (o, staged) in self.staged.iter_mut().enumerate() {
                let ear = plain_side(o, outputs).map_or(0.0, |side| self.ears[side][j]);
                staged[j] += (ear - staged[j]) * mix;
            }
        }
    }

    /// What the stage made of `output`'s last chunk of `n` samples.
    pub fn staged(&self, output: usize, n: usize) -> &[f32] {
        &self.staged[output][..n]
    }

    /// Forgets the feeds (the ring position stays).
    pub fn reset(&mut self) {
        for history in &mut self.history {
            history.fill(0.0);
        }
        self.convolver.reset();
    }
}

/// Σ x·h in double precision, over eight independent partial sums so that the compiler can
/// vectorise it (one running sum is a chain of dependent additions it must keep in order).
#[inline]
pub(super) fn dot(x: &[f32], h: &[f32]) -> f64 {
    const LANES: usize = 8;
    let mut sums = [0.0f64; LANES];
    let (xs, hs) = (x.chunks_exact(LANES), h.chunks_exact(LANES));
    let tail: f64 = xs
        .remainder()
        .iter()
        .zip(hs.remainder())
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum();
    for (xc, hc) in xs.zip(hs) {
        for k in 0..LANES {
            sums[k] += xc[k] as f64 * hc[k] as f64;
        }
    }
    sums.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::contract::tests::filter_set;
    use crate::dsp::contract::LatencyMode;

    /// Runs `input` (on the left dry feed) through a stage in chunks of `chunk`.
    fn staged_left(preview: bool, set: &FilterSet, input: &[f32], chunk: usize) -> Vec<f32> {
        let layout = set.layout;
        let mut stage = OutputStage::new(layout, 2, preview, 48_000.0);
        let wet = OverlapAdd::new(2, layout.fft_len, layout.hop);
        let mut dry = DryDelay::new(layout.latency(), layout.output_delay, layout.hop, false);
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            dry.push(part, &vec![0.0; part.len()], None, false);
            stage.run(part.len(), &wet, 0, &dry, set, None, 0);
            out.extend_from_slice(stage.staged(0, part.len()));
        }
        out
    }

    #[test]
    fn without_the_preview_the_feed_leaves_after_the_whole_latency() {
        let set = filter_set(0);
        let mut input = vec![0.0; 4 * set.layout.latency()];
        input[5] = 1.0;
        for chunk in [1, 100, set.layout.hop] {
            let out = staged_left(false, &set, &input, chunk);
            assert_eq!(
                out.iter().position(|&v| v == 1.0),
                Some(5 + set.layout.latency())
            );
        }
    }

    #[test]
    fn the_preview_plays_the_feeds_through_the_ear_responses() {
        let mut set = filter_set(0);
        let taps = set.layout.ear_taps();
        // Left driver to left ear: a pure delay of 10 taps at half level (time-reversed).
        set.ear_responses[taps - 1 - 10] = 0.5;
        let mut input = vec![0.0; 4 * set.layout.latency()];
        input[5] = 1.0;
        let out = staged_left(true, &set, &input, 64);
        let latency_less_stage = set.layout.latency() - set.layout.output_delay;
        assert_eq!(
            out.iter().position(|&v| v == 0.5),
            Some(5 + latency_less_stage + 10)
        );
    }

    /// Runs `left` and `right` (as the dry feeds) through a four-output stage in chunks of
    /// the sizes `chunks` cycles through; every output's staged samples.
    fn staged_all(
        preview: bool,
        set: &FilterSet,
        input: [&[f32]; 2],
        chunks: &[usize],
    ) -> Vec<Vec<f32>> {
        let layout = set.layout;
        let mut stage = OutputStage::new(layout, set.outputs, preview, 192_000.0);
        let wet = OverlapAdd::new(set.outputs, layout.fft_len, layout.hop);
        let mut dry = DryDelay::new(layout.latency(), layout.output_delay, layout.hop, false);
        let mut out = vec![Vec::new(); set.outputs];
        let (mut at, mut k) = (0, 0);
        while at < input[0].len() {
            let n = chunks[k % chunks.len()].min(input[0].len() - at);
            dry.push(&input[0][at..at + n], &input[1][at..at + n], None, false);
            stage.run(n, &wet, 0, &dry, set, None, 0);
            for (o, staged) in out.iter_mut().enumerate() {
                staged.extend_from_slice(stage.staged(o, n));
            }
            at += n;
            k += 1;
        }
        out
    }

    #[test]
    fn the_partitioned_preview_equals_the_direct_convolution() {
        // 192 kHz: 768-tap responses, twelve partitions; chunks of every size up to a hop.
        let layout = FrameLayout::new(192_000.0, LatencyMode::Normal);
        let mut set = FilterSet::plain(layout, 4);
        let mut seed = 12345u64;
        let mut random = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for v in set.ear_responses.iter_mut() {
            *v = random() * 0.1;
        }
        let len = 4 * layout.latency();
        let left: Vec<f32> = (0..len).map(|_| random()).collect();
        let right: Vec<f32> = (0..len).map(|_| random()).collect();
        let chunks = [1, 700, 64, 63, 65, layout.hop, 5, 1000, 129];
        let feeds = staged_all(false, &set, [&left, &right], &chunks);
        let ears = staged_all(true, &set, [&left, &right], &chunks);
        let (taps, delay) = (layout.ear_taps(), layout.output_delay);
        let mut worst = 0.0f64;
        for (ear, output) in [(0, 0), (1, 3)] {
            for t in taps..len - delay {
                let expected: f64 = (0..4)
                    .map(|driver| {
                        let reversed = set.ear_response(ear, driver);
                        (0..taps)
                            .map(|k| {
                                reversed[taps - 1 - k] as f64 * feeds[driver][t + delay - k] as f64
                            })
                            .sum::<f64>()
                    })
                    .sum();
                worst = worst.max((ears[output][t] as f64 - expected).abs());
            }
        }
        assert!(
            worst < 1e-5,
            "the partitioned preview is {worst:e} off the direct convolution"
        );
    }
}
