//! The dry input's delay line. Two taps leave it: the full latency, which bypass plays, and
//! the latency less the output stage's delay, which joins the STFT's output as the plain feed
//! of the driver feeds (the output stage delays them by the rest). When the engine splits
//! off the bass in the time domain, the plain feed is the low band, in a line of its own.

/// A stereo delay line of the engine's latency with its two taps.
pub struct DryDelay {
    /// Per channel, the ring of the last `latency` input samples.
    line: [Vec<f32>; 2],
    /// Per channel, the ring of the plain feed when it is not the input (the low band of a
    /// bass split); empty when the engine never splits.
    feed_line: [Vec<f32>; 2],
    /// Where the next input sample goes (and the oldest one leaves).
    pos: usize,
    /// How much earlier than the bypass tap the feed tap reads: the output stage's delay.
    feed_advance: usize,
    /// Per channel, the bypass tap for the current chunk.
    bypass: [Vec<f32>; 2],
    /// Per channel, the feed tap for the current chunk.
    feed: [Vec<f32>; 2],
}

impl DryDelay {
    /// A silent line of `latency` samples whose feed tap leaves `feed_advance` samples earlier,
    /// for chunks of up to `max_chunk` samples. Both taps are read before a chunk enters, so
    /// a chunk may be no longer than the shorter delay, `latency - feed_advance`. With
    /// `separate_feed`, the feed tap reads a second line (see [`Self::push`]).
    pub fn new(latency: usize, feed_advance: usize, max_chunk: usize, separate_feed: bool) -> Self {
        debug_assert!(max_chunk <= latency.saturating_sub(feed_advance));
        let feed_len = if separate_feed { latency } else { 0 };
        Self {
            line: [vec![0.0; latency], vec![0.0; latency]],
            feed_line: [vec![0.0; feed_len], vec![0.0; feed_len]],
            pos: 0,
            feed_advance,
            bypass: [vec![0.0; max_chunk], vec![0.0; max_chunk]],
            feed: [vec![0.0; max_chunk], vec![0.0; max_chunk]],
        }
    }

    /// Reads both taps for a chunk of `left`/`right`, then puts the chunk into the line. A
    /// line made with a separate feed also takes `feed` (the plain feed's own signal, the low
    /// band of a bass split) into its second line, and with `tap_feed` the feed tap reads
    /// that, delayed the same, instead of the input. The second line is written whether it is
    /// tapped or not, so that it holds the recent past the moment a set that splits plays.
    pub fn push(&mut self, left: &[f32], right: &[f32], feed: Option<[&[f32]; 2]>, tap_feed: bool) {
        let n = left.len();
        let latency = self.line[0].len();
        let start = self.pos;
        let feed_tap = (start + self.feed_advance) % latency;
        let feed = feed.filter(|_| self.has_separate_feed());
        let tap_feed = tap_feed && feed.is_some();
        for ch in 0..2 {
            ring_read(&self.line[ch], start, &mut self.bypass[ch][..n]);
            let feed_from = if tap_feed {
                &self.feed_line[ch]
            } else {
                &self.line[ch]
            };
            ring_read(feed_from, feed_tap, &mut self.feed[ch][..n]);
        }
        let mut done = 0;
        while done < n {
            let p = self.pos;
            let run = (latency - p).min(n - done);
            for (ch, x) in [left, right].into_iter().enumerate() {
                self.line[ch][p..p + run].copy_from_slice(&x[done..done + run]);
            }
            if let Some(feed) = feed {
                for (ch, x) in feed.into_iter().enumerate() {
                    self.feed_line[ch][p..p + run].copy_from_slice(&x[done..done + run]);
                }
            }
            done += run;
            self.pos = (p + run) % latency;
        }
    }

    /// Whether the plain feed has a line of its own (see [`Self::new`]).
    pub fn has_separate_feed(&self) -> bool {
        !self.feed_line[0].is_empty()
    }

    /// Channel `ch` of the bypass tap for the last chunk of `n` samples.
    pub fn bypass(&self, ch: usize, n: usize) -> &[f32] {
        &self.bypass[ch][..n]
    }

    /// Channel `ch` of the feed tap for the last chunk of `n` samples.
    pub fn feed(&self, ch: usize, n: usize) -> &[f32] {
        &self.feed[ch][..n]
    }

    /// Forgets the input (the position stays, so the engine's phases do too).
    pub fn reset(&mut self) {
        for line in self.line.iter_mut().chain(&mut self.feed_line) {
            line.fill(0.0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impulse_leaves_each_tap_after_its_delay_whatever_the_chunks() {
        let (latency, advance) = (10, 3);
        for chunk in [1, 3, 4, 7] {
            let mut line = DryDelay::new(latency, advance, chunk, false);
            let input: Vec<f32> = (0..40).map(|i| if i == 2 { 1.0 } else { 0.0 }).collect();
            let (mut bypass, mut feed) = (Vec::new(), Vec::new());
            for part in input.chunks(chunk) {
                let right: Vec<f32> = part.iter().map(|v| -v).collect();
                line.push(part, &right, None, false);
                bypass.extend_from_slice(line.bypass(0, part.len()));
                feed.extend_from_slice(line.feed(1, part.len()));
            }
            let at = |x: &[f32], value: f32| x.iter().position(|&v| v == value);
            assert_eq!(at(&bypass, 1.0), Some(2 + latency), "chunks of {chunk}");
            assert_eq!(
                at(&feed, -1.0),
                Some(2 + latency - advance),
                "chunks of {chunk}"
            );
        }
    }

    proptest::proptest! {
        /// However the input is cut into chunks, both taps give what one sample at a time
        /// gives.
        #[test]
        fn the_taps_do_not_depend_on_how_the_input_is_chunked(
            cuts in proptest::collection::vec(1usize..=16, 1..40),
            latency in 33usize..64,
            advance in 0usize..17,
        ) {
            let input: Vec<f32> = (0..cuts.iter().sum::<usize>()).map(|i| i as f32).collect();
            let run = |sizes: &mut dyn Iterator<Item = usize>| {
                let mut line = DryDelay::new(latency, advance, 16, false);
                let (mut at, mut taps) = (0, Vec::new());
                for n in sizes {
                    let part = &input[at..at + n];
                    line.push(part, part, None, false);
                    taps.extend(line.bypass(0, n).iter().zip(line.feed(1, n)).map(|(a, b)| (*a, *b)));
                    at += n;
                }
                taps
            };
            let chunked = run(&mut cuts.iter().copied());
            let single = run(&mut std::iter::repeat_n(1, input.len()));
            proptest::prop_assert_eq!(chunked, single);
        }
    }

    #[test]
    fn a_separate_feed_leaves_the_feed_tap_and_the_input_the_bypass_tap() {
        let (latency, advance) = (10, 3);
        let mut line = DryDelay::new(latency, advance, 4, true);
        let input: Vec<f32> = (0..40).map(|i| if i == 2 { 1.0 } else { 0.0 }).collect();
        let feed: Vec<f32> = (0..40).map(|i| if i == 5 { 2.0 } else { 0.0 }).collect();
        let (mut bypass, mut fed) = (Vec::new(), Vec::new());
        for (part, f) in input.chunks(4).zip(feed.chunks(4)) {
            line.push(part, part, Some([f, f]), true);
            bypass.extend_from_slice(line.bypass(0, part.len()));
            fed.extend_from_slice(line.feed(1, part.len()));
        }
        let at = |x: &[f32], value: f32| x.iter().position(|&v| v == value);
        assert_eq!(at(&bypass, 1.0), Some(2 + latency));
        assert_eq!(at(&fed, 2.0), Some(5 + latency - advance));
        assert_eq!(
            at(&fed, 1.0),
            None,
            "the feed tap no longer reads the input"
        );
    }

    #[test]
    fn reset_forgets_what_is_in_the_line() {
        let mut line = DryDelay::new(4, 1, 4, false);
        line.push(&[1.0; 4], &[1.0; 4], None, false);
        line.reset();
        line.push(&[0.0; 4], &[0.0; 4], None, false);
        assert!(line
            .bypass(0, 4)
            .iter()
            .chain(line.feed(1, 4))
            .all(|&v| v == 0.0));
    }
}
