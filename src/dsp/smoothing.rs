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

    /// Moves `samples` samples on, as that many [`Glide::tick`]s would (to within rounding),
    /// in one step: the distance to the target shrinks by the coefficient to the power of
    /// the samples. (Ticking through them is a serial chain of dependent f64 operations that
    /// costs more than the rest of a frame's per-sample work.)
    #[inline]
    pub fn advance(&mut self, samples: usize) {
        if !self.is_settled() && samples > 0 {
            let decay = self.coefficient.powi(samples.min(i32::MAX as usize) as i32);
            self.value = self.target + (self.value - self.target) * decay;
            if (self.value - self.target).abs() < 1e-9 {
                self.value = self.target;
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

/// A switch made smooth: from one value to another along a quintic "smootherstep" over a
/// fixed time, whose first two derivatives vanish at both ends. A one-pole glide starts with
/// a kink, and a kink in a crossfade between two different signals splatters a little
/// energy far from their frequencies; this does not. Deterministic per sample, like
/// [`Glide`].
#[derive(Clone, Copy, Debug)]
pub struct Crossfade {
    from: f32,
    to: f32,
    position: u32,
    length: u32,
}

impl Crossfade {
    /// A crossfade resting at `value`, taking `time_s` per switch at `sample_rate`.
    pub fn new(value: f32, time_s: f64, sample_rate: f64) -> Self {
        let length = (time_s * sample_rate).round().max(1.0) as u32;
        Self {
            from: value,
            to: value,
            position: length,
            length,
        }
    }

    /// Heads for `target` from wherever the crossfade is now.
    pub fn set_target(&mut self, target: f32) {
        if target != self.to {
            self.from = self.value();
            self.to = target;
            self.position = 0;
        }
    }

    /// Jumps to `value` at once (reset, first activation).
    pub fn jump(&mut self, value: f32) {
        self.from = value;
        self.to = value;
        self.position = self.length;
    }

    fn value(&self) -> f32 {
        let t = self.position as f32 / self.length as f32;
        let shape = t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
        self.from + (self.to - self.from) * shape
    }

    /// The next sample of the control signal.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        if self.position < self.length {
            self.position += 1;
        }
        self.value()
    }

    /// Whether the crossfade has arrived (it then stays exactly at its target).
    pub fn is_settled(&self) -> bool {
        self.position >= self.length
    }

    /// Where the crossfade is heading.
    pub fn target(&self) -> f32 {
        self.to
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

    #[test]
    fn advancing_at_once_lands_where_ticking_does() {
        // Target changes between runs of every length from 0 to a long block: the jumps
        // must follow the per-sample glide to well inside the engine's 1e-6 invariance,
        // and arrive exactly when it does.
        let (mut ticked, mut jumped) = (
            Glide::new(0.0, 0.01, 48_000.0),
            Glide::new(0.0, 0.01, 48_000.0),
        );
        let mut worst = 0.0f64;
        for (i, run) in [0usize, 1, 2, 7, 64, 511, 4096, 3, 9000]
            .into_iter()
            .enumerate()
        {
            let target = if i % 2 == 0 { 1.0 } else { 0.25 };
            ticked.set_target(target);
            jumped.set_target(target);
            for _ in 0..run {
                ticked.tick();
            }
            jumped.advance(run);
            worst = worst.max((ticked.value - jumped.value).abs());
        }
        assert!(worst < 1e-9, "advance departs from ticking by {worst:e}");
        assert!(ticked.is_settled() && jumped.is_settled());
    }

    #[test]
    fn crossfade_arrives_exactly_on_time_and_smoothly() {
        let mut c = Crossfade::new(0.0, 0.01, 1000.0);
        c.set_target(1.0);
        let values: Vec<f32> = (0..10).map(|_| c.tick()).collect();
        assert_eq!(values[9], 1.0);
        assert!(c.is_settled());
        assert!(values.windows(2).all(|w| w[1] >= w[0]));
        // Gentle at both ends: the first and last steps are the smallest.
        let steps: Vec<f32> = values.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(values[0] < 0.01 && steps[0] < steps[4] && steps[8] < steps[4]);
    }
}
