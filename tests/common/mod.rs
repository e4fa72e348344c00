//! Helpers shared by the integration tests: seeded signals and level measures.
#![allow(dead_code)]

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Seeded white noise at `rms`.
pub fn noise(seed: u64, len: usize, rms: f32) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            rms * v as f32
        })
        .collect()
}

/// Mean power of a signal.
pub fn power(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64
}

/// 10·log10 with a floor, for printing and comparing levels.
pub fn db(x: f64) -> f64 {
    10.0 * x.max(1e-300).log10()
}

/// Level of `a − b` relative to `b`, dB.
pub fn error_db(a: &[f32], b: &[f32]) -> f64 {
    let err: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    db(power(&err) / power(b))
}

/// A sine at `freq` Hz.
pub fn sine(freq: f64, sample_rate: f64, len: usize, amplitude: f32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / sample_rate).sin() as f32
        })
        .collect()
}

/// Index of the largest absolute value.
pub fn argmax_abs(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or(0, |(i, _)| i)
}
