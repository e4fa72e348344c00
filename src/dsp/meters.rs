//! Level meters from the audio thread to the editor: input and output level, the outputs'
//! stereo correlation and how much the mono sum changes. The audio thread integrates block
//! energies with a fixed time constant (so the readings do not depend on the host's block
//! size) and publishes them through atomics; the editor only reads.

use super::engine::MAX_INPUT;
use atomic_float::AtomicF32;
use std::sync::atomic::Ordering;

/// Integration time of every meter, seconds: a VU-like ballistic, steady enough to read.
pub const METER_TIME_CONSTANT_S: f64 = 0.3;

/// Level shown for silence, dBFS (and the floor of every level reading).
pub const SILENCE_DB: f32 = -120.0;

/// The published readings, shared between the audio thread and the editor.
#[derive(Debug)]
pub struct Meters {
    /// Input level, the louder channel, dBFS RMS.
    pub input_db: AtomicF32,
    /// Output level, the loudest output, dBFS RMS.
    pub output_db: AtomicF32,
    /// Correlation of the outer outputs, −1 to 1 (1: mono, 0: unrelated, −1: out of phase).
    pub correlation: AtomicF32,
    /// Level of the outputs' mono sum against the input's mono sum, dB: what a mono listener
    /// (one speaker, a phone) loses or gains from the processing.
    pub mono_change_db: AtomicF32,
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            input_db: AtomicF32::new(SILENCE_DB),
            output_db: AtomicF32::new(SILENCE_DB),
            correlation: AtomicF32::new(1.0),
            mono_change_db: AtomicF32::new(0.0),
        }
    }
}

/// What the meters integrate, per sample, with one time constant.
#[derive(Clone, Copy, Debug, Default)]
struct Energies {
    input: f64,
    output: f64,
    left: f64,
    right: f64,
    cross: f64,
    mono_in: f64,
    mono_out: f64,
}

/// The audio thread's side: the integrators. Allocation-free.
#[derive(Clone, Debug)]
pub struct MeterIntegrator {
    state: Energies,
    sample_rate: f64,
}

impl MeterIntegrator {
    /// Integrators at `sample_rate`, starting from silence.
    pub fn new(sample_rate: f64) -> Self {
        Self {
            state: Energies::default(),
            sample_rate,
        }
    }

    /// Adds one block (`input` stereo, `output` one slice per driver, same length) and
    /// publishes the new readings into `meters`.
    pub fn update(&mut self, input: [&[f32]; 2], output: &[&mut [f32]], meters: &Meters) {
        let len = input[0].len().min(input[1].len());
        if len == 0 || output.is_empty() {
            return;
        }
        let mean = |f: &dyn Fn(usize) -> f64| (0..len).map(f).sum::<f64>() / len as f64;
        let sq = |x: f32| (x as f64) * (x as f64);
        // What the engine hears: corrupt input is silence to it, and so to the meters.
        let heard = |x: f32| if x.abs() <= MAX_INPUT { x } else { 0.0 };
        let input = [0, 1].map(|ch| {
            let x: &[f32] = input[ch];
            move |i: usize| heard(x[i])
        });
        let last = output.len() - 1;
        let block = Energies {
            input: mean(&|i| sq(input[0](i)).max(sq(input[1](i)))),
            output: output
                .iter()
                .map(|o| mean(&|i| sq(o[i])))
                .fold(0.0, f64::max),
            left: mean(&|i| sq(output[0][i])),
            right: mean(&|i| sq(output[last][i])),
            cross: mean(&|i| output[0][i] as f64 * output[last][i] as f64),
            mono_in: mean(&|i| sq(input[0](i) + input[1](i))),
            mono_out: mean(&|i| sq(output.iter().map(|o| o[i]).sum())),
        };
        // The exact one-pole response to a block of constant energy: block-size independent.
        let keep = (-(len as f64) / (METER_TIME_CONSTANT_S * self.sample_rate)).exp();
        let s = &mut self.state;
        for (state, new) in [
            (&mut s.input, block.input),
            (&mut s.output, block.output),
            (&mut s.left, block.left),
            (&mut s.right, block.right),
            (&mut s.cross, block.cross),
            (&mut s.mono_in, block.mono_in),
            (&mut s.mono_out, block.mono_out),
        ] {
            *state = keep * *state + (1.0 - keep) * new;
        }
        let db = |p: f64| (10.0 * p.max(1e-30).log10()).max(SILENCE_DB as f64) as f32;
        meters.input_db.store(db(s.input), Ordering::Relaxed);
        meters.output_db.store(db(s.output), Ordering::Relaxed);
        let norm = (s.left * s.right).sqrt();
        let correlation = if norm > 1e-20 {
            (s.cross / norm).clamp(-1.0, 1.0)
        } else {
            1.0
        };
        meters
            .correlation
            .store(correlation as f32, Ordering::Relaxed);
        let change = if s.mono_in > 1e-20 {
            (10.0 * (s.mono_out.max(1e-30) / s.mono_in).log10()).max(SILENCE_DB as f64)
        } else {
            0.0
        };
        meters
            .mono_change_db
            .store(change as f32, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: [&[f32]; 2], output: [&[f32]; 2], blocks: usize) -> Meters {
        let meters = Meters::default();
        let mut integrator = MeterIntegrator::new(48_000.0);
        let len = input[0].len();
        let mut start = 0;
        while start < len {
            let end = (start + blocks).min(len);
            let mut a = output[0][start..end].to_vec();
            let mut b = output[1][start..end].to_vec();
            let outs: [&mut [f32]; 2] = [&mut a, &mut b];
            integrator.update(
                [&input[0][start..end], &input[1][start..end]],
                &outs,
                &meters,
            );
            start = end;
        }
        meters
    }

    fn tone(len: usize, amplitude: f32, phase: f32) -> Vec<f32> {
        (0..len)
            .map(|i| amplitude * (i as f32 * 0.05 + phase).sin())
            .collect()
    }

    #[test]
    fn a_full_scale_sine_reads_minus_three_dbfs_whatever_the_block_size() {
        let x = tone(96_000, 1.0, 0.0);
        for block in [1, 64, 4096] {
            let m = run([&x, &x], [&x, &x], block);
            let input = m.input_db.load(Ordering::Relaxed);
            assert!((input + 3.01).abs() < 0.05, "block {block}: {input} dBFS");
            assert!((m.correlation.load(Ordering::Relaxed) - 1.0).abs() < 1e-6);
            assert!(m.mono_change_db.load(Ordering::Relaxed).abs() < 1e-3);
        }
    }

    #[test]
    fn out_of_phase_outputs_read_minus_one_and_lose_the_mono_sum() {
        let x = tone(96_000, 0.5, 0.0);
        let y: Vec<f32> = x.iter().map(|v| -v * 0.999).collect();
        let m = run([&x, &x], [&x, &y], 512);
        assert!(m.correlation.load(Ordering::Relaxed) < -0.99);
        assert!(m.mono_change_db.load(Ordering::Relaxed) < -40.0);
    }

    #[test]
    fn corrupt_input_is_metered_as_the_silence_the_engine_hears() {
        for bad in [f32::NAN, f32::INFINITY] {
            let mut x = tone(96_000, 1.0, 0.0);
            x[1000] = bad;
            let m = run([&x, &x], [&x, &x], 512);
            let input = m.input_db.load(Ordering::Relaxed);
            // One NaN used to stick the reading at the floor, one Inf at +inf.
            assert!((input + 3.01).abs() < 0.05, "{bad}: {input} dBFS");
        }
    }

    #[test]
    fn silence_reads_the_floor() {
        let z = vec![0.0f32; 48_000];
        let m = run([&z, &z], [&z, &z], 256);
        assert_eq!(m.input_db.load(Ordering::Relaxed), SILENCE_DB);
        assert_eq!(m.output_db.load(Ordering::Relaxed), SILENCE_DB);
    }
}
