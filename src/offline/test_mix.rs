//! A synthetic stereo mix with known parts: a centred voice-like source, hard-panned
//! instruments and decorrelated ambience. The `demo` command renders it; the tests use its
//! parts as ground truth for the upmix.

use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use std::f64::consts::PI;

/// The mix and its parts, all at one sample rate and length.
#[derive(Clone, Debug)]
pub struct TestMix {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// The centred source (in both channels at equal level).
    pub voice: Vec<f32>,
    /// An instrument panned hard left.
    pub left_instrument: Vec<f32>,
    /// An instrument panned hard right.
    pub right_instrument: Vec<f32>,
    /// Decorrelated ambience, left channel.
    pub ambience_left: Vec<f32>,
    /// Decorrelated ambience, right channel.
    pub ambience_right: Vec<f32>,
    /// The mix, left channel.
    pub left: Vec<f32>,
    /// The mix, right channel.
    pub right: Vec<f32>,
}

/// Normalises to unit RMS (silence stays silence).
fn normalise(x: &mut [f64]) {
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt();
    if rms > 0.0 {
        x.iter_mut().for_each(|v| *v /= rms);
    }
}

impl TestMix {
    /// Synthesises `seconds` of the mix at `sample_rate`; `seed` fixes the noise.
    ///
    /// NOTE: long because every part of the mix (voice, instruments, ambience) is a few lines on
    /// the same time base and random source, and the parts are the ground truth tests read.
    pub fn generate(sample_rate: f64, seconds: f64, seed: u64) -> Self {
        let n = (seconds * sample_rate).round() as usize;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let t = |i: usize| i as f64 / sample_rate;

        // Voice: a glottal-like harmonic series with vibrato, shaped by three formants, with
        // syllable-rate gating.
        let mut phase = 0.0;
        let mut voice: Vec<f64> = (0..n)
            .map(|i| {
                let f0 = 140.0
                    * (1.0
                        + 0.04 * (2.0 * PI * 5.5 * t(i)).sin()
                        + 0.1 * (2.0 * PI * 0.3 * t(i)).sin());
                phase += 2.0 * PI * f0 / sample_rate;
                let mut v = 0.0;
                for k in 1..40 {
                    let fk = k as f64 * f0;
                    if fk > sample_rate * 0.45 {
                        break;
                    }
                    let formants: f64 = [
                        (700.0, 130.0, 1.0),
                        (1200.0, 150.0, 0.6),
                        (2600.0, 250.0, 0.3),
                    ]
                    .iter()
                    .map(|(fc, bw, g)| g / (1.0 + ((fk - fc) / bw).powi(2)))
                    .sum();
                    v += (formants + 0.02) * (k as f64 * phase).sin() / k as f64;
                }
                let syllable = 0.5 + 0.5 * (2.0 * PI * 3.0 * t(i)).sin();
                v * syllable.powf(0.5)
            })
            .collect();
        normalise(&mut voice);

        // Left: a plucked string (decaying sawtooth, restruck twice a second).
        let mut left_instrument: Vec<f64> = (0..n)
            .map(|i| {
                let local = t(i) % 0.5;
                let saw = 2.0 * ((196.0 * t(i)) % 1.0) - 1.0;
                saw * (-6.0 * local).exp()
            })
            .collect();
        normalise(&mut left_instrument);

        // Right: an electric-piano chord with a slow attack envelope.
        let mut right_instrument: Vec<f64> = (0..n)
            .map(|i| {
                let local = t(i) % 0.75;
                [261.6, 329.6, 392.0, 523.3]
                    .iter()
                    .map(|f| (2.0 * PI * f * t(i)).sin() + 0.2 * (4.0 * PI * f * t(i)).sin())
                    .sum::<f64>()
                    * (-3.0 * local).exp()
                    * (1.0 - (-60.0 * local).exp())
            })
            .collect();
        normalise(&mut right_instrument);

        // Ambience: two independent noises through the same gentle low-pass (a room tail).
        let ambience = |rng: &mut rand::rngs::StdRng| {
            let mut y = 0.0;
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    let x: f64 = rng.sample(StandardNormal);
                    y = 0.9 * y + 0.1 * x;
                    y
                })
                .collect();
            normalise(&mut v);
            v
        };
        let ambience_left = ambience(&mut rng);
        let ambience_right = ambience(&mut rng);

        let (g_voice, g_inst, g_amb) = (0.25, 0.18, 0.07);
        let left: Vec<f32> = (0..n)
            .map(|i| {
                (g_voice * voice[i] + g_inst * left_instrument[i] + g_amb * ambience_left[i]) as f32
            })
            .collect();
        let right: Vec<f32> = (0..n)
            .map(|i| {
                (g_voice * voice[i] + g_inst * right_instrument[i] + g_amb * ambience_right[i])
                    as f32
            })
            .collect();
        let scaled = |v: &[f64], g: f64| v.iter().map(|x| (g * x) as f32).collect::<Vec<f32>>();
        Self {
            sample_rate,
            voice: scaled(&voice, g_voice),
            left_instrument: scaled(&left_instrument, g_inst),
            right_instrument: scaled(&right_instrument, g_inst),
            ambience_left: scaled(&ambience_left, g_amb),
            ambience_right: scaled(&ambience_right, g_amb),
            left,
            right,
        }
    }
}
