//! Gain and bypass travel through a delay line of the latency, so that they act on the audio
//! they were set for. Once they have held still for the whole line, every entry is the same
//! value and the line idles: a chunk then costs nothing.

/// The delay line of the (gain, bypass mix) pairs.
pub struct ControlDelay {
    /// The ring of the last `latency` pairs.
    line: Vec<(f32, f32)>,
    /// Where the next pair goes.
    pos: usize,
    /// The pairs leaving the line during the current chunk.
    chunk: Vec<(f32, f32)>,
    /// The pair last written, and for how many samples in a row: once that covers the whole
    /// line, every entry is that pair.
    held: (f32, f32),
    held_for: usize,
}

impl ControlDelay {
    /// A line of `latency` samples full of `initial`, for chunks of up to `max_chunk`.
    pub fn new(latency: usize, max_chunk: usize, initial: (f32, f32)) -> Self {
        Self {
            line: vec![initial; latency],
            pos: 0,
            chunk: vec![(0.0, 0.0); max_chunk],
            held: initial,
            held_for: latency,
        }
    }

    /// Fills the whole line with `held` (a fresh start: no glide from stale values).
    pub fn settle(&mut self, held: (f32, f32)) {
        self.line.fill(held);
        self.held = held;
        self.held_for = self.line.len();
    }

    /// Moves the line on by `n` samples. `settled` is the pair the controls rest at, if they
    /// do; otherwise `tick` gives each sample's pair. Returns the pair leaving the line for
    /// the whole chunk when it idles; otherwise the pairs are in [`ControlDelay::chunk`].
    pub fn advance(
        &mut self,
        n: usize,
        settled: Option<(f32, f32)>,
        mut tick: impl FnMut() -> (f32, f32),
    ) -> Option<(f32, f32)> {
        let latency = self.line.len();
        let start = self.pos;
        self.pos = (start + n) % latency;
        if settled == Some(self.held) && self.held_for >= latency {
            self.held_for = self.held_for.saturating_add(n);
            return Some(self.held);
        }
        for j in 0..n {
            let now = tick();
            let slot = (start + j) % latency;
            self.chunk[j] = std::mem::replace(&mut self.line[slot], now);
            if now == self.held {
                self.held_for = self.held_for.saturating_add(1);
            } else {
                self.held = now;
                self.held_for = 1;
            }
        }
        None
    }

    /// The pairs that left the line during the last chunk of `n` samples (when it did not
    /// idle).
    pub fn chunk(&self, n: usize) -> &[(f32, f32)] {
        &self.chunk[..n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_leaves_the_line_after_its_length_and_then_it_idles() {
        let latency = 8;
        let mut line = ControlDelay::new(latency, 4, (1.0, 0.0));
        assert_eq!(
            line.advance(4, Some((1.0, 0.0)), || unreachable!()),
            Some((1.0, 0.0))
        );
        let mut out = Vec::new();
        for _ in 0..6 {
            // The gain steps to 0.5 for good.
            match line.advance(4, None, || (0.5, 0.0)) {
                Some(pair) => out.extend([pair; 4]),
                None => out.extend_from_slice(line.chunk(4)),
            }
        }
        assert_eq!(out.iter().position(|p| p.0 == 0.5), Some(latency));
        assert!(out[latency..].iter().all(|p| p.0 == 0.5));
        // The step has filled the line: it idles from now on.
        assert_eq!(
            line.advance(4, Some((0.5, 0.0)), || unreachable!()),
            Some((0.5, 0.0))
        );
    }

    proptest::proptest! {
        /// However the samples are cut into chunks, the pairs leaving the line are those one
        /// sample at a time gives, whether the line idles or not.
        #[test]
        fn the_output_does_not_depend_on_how_the_chunks_are_cut(
            cuts in proptest::collection::vec(1usize..=8, 1..40),
            steps in proptest::collection::vec(0u8..3, 64),
        ) {
            let total: usize = cuts.iter().sum();
            // A control that holds still for runs of 16 samples: the line idles in between.
            let value = |i: usize| (steps[(i / 16) % steps.len()] as f32, 0.0);
            let run = |sizes: &mut dyn Iterator<Item = usize>| {
                let mut line = ControlDelay::new(12, 8, value(0));
                let (mut at, mut out) = (0, Vec::new());
                for n in sizes {
                    let still = (at..at + n).all(|i| value(i) == value(at));
                    let mut i = at;
                    let tick = || {
                        i += 1;
                        value(i - 1)
                    };
                    match line.advance(n, still.then(|| value(at)), tick) {
                        Some(pair) => out.extend(std::iter::repeat_n(pair, n)),
                        None => out.extend_from_slice(line.chunk(n)),
                    }
                    at += n;
                }
                out
            };
            let chunked = run(&mut cuts.iter().copied());
            let single = run(&mut std::iter::repeat_n(1, total));
            proptest::prop_assert_eq!(chunked, single);
        }
    }

    #[test]
    fn settle_fills_the_line_at_once() {
        let mut line = ControlDelay::new(8, 8, (1.0, 0.0));
        line.settle((0.25, 1.0));
        assert_eq!(
            line.advance(8, Some((0.25, 1.0)), || unreachable!()),
            Some((0.25, 1.0))
        );
    }
}
