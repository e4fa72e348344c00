//! The STFT's synthesis side: every frame's inverse transform is added into a ring of
//! fft_len / hop segments of one hop each, per output; the segment no later frame reaches is
//! complete and plays during the next hop. (A ring instead of shifting the buffer each hop.)

/// Per output, the overlap-add ring.
pub struct OverlapAdd {
    /// Per output, `segments` segments of `hop` samples.
    rings: Vec<Vec<f32>>,
    /// Samples per segment.
    hop: usize,
    /// The segment complete and being played during this hop.
    ready: usize,
}

impl OverlapAdd {
    /// Silent rings for `outputs` outputs of frames `fft_len` long, `hop` apart.
    pub fn new(outputs: usize, fft_len: usize, hop: usize) -> Self {
        Self {
            rings: vec![vec![0.0; fft_len]; outputs],
            hop,
            ready: 0,
        }
    }

    fn segments(&self) -> usize {
        self.rings.first().map_or(1, |r| r.len() / self.hop)
    }

    /// The `n` finished samples of `output` from `offset` on within the hop being played.
    pub fn ready(&self, output: usize, offset: usize, n: usize) -> &[f32] {
        let at = self.ready * self.hop + offset;
        &self.rings[output][at..at + n]
    }

    /// Adds one frame of `output` (fft_len samples, its first hop completing the next
    /// segment); the segment just played is cleared for it first.
    pub fn add(&mut self, output: usize, frame: &[f32]) {
        let (hop, segments, ready) = (self.hop, self.segments(), self.ready);
        let ring = &mut self.rings[output];
        ring[ready * hop..(ready + 1) * hop].fill(0.0);
        for (j, part) in frame.chunks_exact(hop).enumerate() {
            let seg = (ready + 1 + j) % segments;
            for (o, t) in ring[seg * hop..(seg + 1) * hop].iter_mut().zip(part) {
                *o += t;
            }
        }
    }

    /// Moves on to the next hop, once every output's frame is in.
    pub fn advance(&mut self) {
        self.ready = (self.ready + 1) % self.segments();
    }

    /// Silence from now on (the segment phase stays).
    pub fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_hop_apart_sum_in_the_segments_they_overlap() {
        let (hop, fft_len) = (2, 6);
        let mut ola = OverlapAdd::new(1, fft_len, hop);
        let mut played = Vec::new();
        for frame in 0..5 {
            ola.add(0, &[1.0; 6]);
            ola.advance();
            played.extend_from_slice(ola.ready(0, 0, hop));
            assert_eq!(
                ola.ready(0, 1, 1),
                &played[played.len() - 1..],
                "frame {frame}"
            );
        }
        // Each frame covers three hops: the played hops overlap 1, 2, then 3 frames.
        assert_eq!(played, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
    }
}
