//! Per-sample parameter smoothing: one-pole glides that turn block-wise host automation
//! (one value per block, as many VST3 hosts send) into click-free control signals.

/// A one-pole glide towards a target. Deterministic per sample, so the output does not
/// depend on how the host splits the audio into blocks.
#[derive(Clone, Copy, Debug)]
pub struct Glide {
    // NOTE: kept in f64: in f32 a glide towards 1.0 stalls a few ulps short of its target.
    value: f64,
    target: f64,
    coefficient: f64,
}

impl Glide {
    /// A glide at `value` with a time constant of `time_s` at `sample_rate`.
    pub fn new(value: f32, time_s: f64, sample_rate: f64) -> Self {
        let coefficient = (-1.0 / (time_s * sample_rate).max(1.0)).exp();
        Self {
            value: value as f64,
            target: value as f64,
            coefficient,
        }
    }

    /// Sets where the glide goes from the next sample on.
    pub fn set_target(&mut self, target: f32) {
        self.target = target as f64;
    }

    /// Jumps to `value` at once (reset, first activation).
    pub fn jump(&mut self, value: f32) {
        self.value = value as f64;
        self.target = value as f64;
    }

    /// The next sample of the control signal.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        self.value = self.target + (self.value - self.target) * self.coefficient;
        if (self.value - self.target).abs() < 1e-9 {
            self.value = self.target;
        }
        self.value as f32
    }

    /// Moves `samples` samples on, as that many [`Glide::tick`]s would (at once when the
    /// glide has arrived: a settled glide stays exactly at its target).
    #[inline]
    pub fn advance(&mut self, samples: usize) {
        if !self.is_settled() {
            for _ in 0..samples {
                self.tick();
            }
        }
    }

    /// Whether the glide has reached its target (it then stays there exactly).
    pub fn is_settled(&self) -> bool {
        self.value == self.target
    }

    /// The target the glide heads for.
    pub fn target(&self) -> f32 {
        self.target as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glide_reaches_its_target_and_never_overshoots() {
        let mut g = Glide::new(0.0, 0.01, 48_000.0);
        g.set_target(1.0);
        let mut last = 0.0;
        for _ in 0..48_000 {
            let v = g.tick();
            assert!(v >= last && v <= 1.0);
            last = v;
        }
        assert_eq!(last, 1.0);
    }
}
