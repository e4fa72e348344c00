//! The output stage after the STFT: the driver feeds (the dry input's feed tap plus the
//! STFT's output) delayed by the output delay, or, in the headphone preview, the feeds
//! through the ear responses of the design's listener (left ear on the leftmost output,
//! right ear on the rightmost, the inner outputs silent), crossfaded by the preview glide.

use super::dry_delay::DryDelay;
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
    /// the samples since its fade began).
    pub fn run(
        &mut self,
        n: usize,
        wet: &OverlapAdd,
        offset: usize,
        dry: &DryDelay,
        current: &FilterSet,
        ear_fade: Option<(&FilterSet, usize)>,
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
            self.preview_ears(n, current, ear_fade);
        }
        self.pos = (start + n) % ring;
    }

    /// Replaces the outer outputs' staged feeds by the ears, by the preview crossfade.
    fn preview_ears(
        &mut self,
        n: usize,
        current: &FilterSet,
        ear_fade: Option<(&FilterSet, usize)>,
    ) {
        let (hop, taps) = (self.hop, self.taps);
        let ring = taps + hop;
        let start = self.pos;
        let fading = ear_fade.filter(|&(_, since)| since < hop);
        for ear in 0..2 {
            for j in 0..n {
                // The window of `taps` samples ending with sample j, in the doubled ring.
                let window = (start + j) % ring + ring + 1 - taps;
                let mut heard = ears_of(current, ear, &self.history, window, taps);
                if let Some((previous, since)) = fading {
                    let q = since.saturating_add(j).min(hop) as f32 / hop as f32;
                    let before = ears_of(previous, ear, &self.history, window, taps);
                    heard = before + (heard - before) * q;
                }
                self.ears[ear][j] = heard;
            }
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::contract::tests::filter_set;

    /// Runs `input` (on the left dry feed) through a stage in chunks of `chunk`.
    fn staged_left(preview: bool, set: &FilterSet, input: &[f32], chunk: usize) -> Vec<f32> {
        let layout = set.layout;
        let mut stage = OutputStage::new(layout, 2, preview, 48_000.0);
        let wet = OverlapAdd::new(2, layout.fft_len, layout.hop);
        let mut dry = DryDelay::new(layout.latency(), layout.output_delay, layout.hop);
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            dry.push(part, &vec![0.0; part.len()]);
            stage.run(part.len(), &wet, 0, &dry, set, None);
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
}
