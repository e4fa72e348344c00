//! The upmix's promised behaviour, measured on real signals through the engine's upmix.

use realfft::num_complex::Complex32;
use soundstage::design::filterset::{
    plain_feed, FilterSet, FrameLayout, LoudnessModel, UPMIX_CHANNELS,
};
use soundstage::dsp::engine::{Controls, Engine};
use soundstage::render::stream;
use soundstage::testmix::TestMix;

const SR: f64 = 48_000.0;

/// Runs the real engine with a filter set that routes the upmix channels straight out
/// (output 0 = L', 1 = R', 2 = C, each delayed by the bulk delay only) and returns them
/// aligned with the input. The engine adds the plain feed (L to the first output, R to the
/// last) in the time domain, so the set removes it again through `bass_complement`.
fn upmix(left: &[f32], right: &[f32]) -> [Vec<f64>; 3] {
    let layout = FrameLayout::for_sample_rate(SR);
    let bins = layout.bins();
    let zero = Complex32::new(0.0, 0.0);
    let mut base = vec![zero; bins * 3 * UPMIX_CHANNELS];
    let mut bass_complement = base.clone();
    for k in 0..bins {
        let phase = -2.0 * std::f64::consts::PI * k as f64 * layout.bulk_delay as f64
            / layout.fft_len as f64;
        let delay = Complex32::new(phase.cos() as f32, phase.sin() as f32);
        for out in 0..3 {
            for ch in 0..UPMIX_CHANNELS {
                let i = (k * 3 + out) * UPMIX_CHANNELS + ch;
                if out == ch {
                    base[i] = delay;
                }
                if plain_feed(3, out, ch) {
                    bass_complement[i] = delay;
                }
            }
        }
    }
    let filters = FilterSet {
        layout,
        outputs: 3,
        width_delta: vec![zero; base.len()],
        bass_complement,
        centre_share: vec![1.0; bins],
        base,
        loudness: LoudnessModel {
            plain: 1.0,
            at_zero: 1.0,
            cross: 0.0,
            delta: 0.0,
        },
        compensate_loudness: false,
        generation: 0,
    };
    let mut engine = Engine::new(
        Box::new(filters),
        SR,
        Controls {
            width: 0.0,
            gain: 1.0,
            bypass: false,
        },
    );
    let out = stream(&mut engine, left, right, &[512], |_| {});
    std::array::from_fn(|c| out[c].iter().map(|&v| v as f64).collect())
}

fn power(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
}

fn db(x: f64) -> f64 {
    10.0 * x.max(1e-300).log10()
}

/// Samples away from the start and end, where the smoothing has settled.
fn middle<T: Copy>(x: &[T]) -> &[T] {
    &x[x.len() / 8..x.len() * 7 / 8]
}

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (power(a) * power(b) * (a.len() as f64).powi(2)).sqrt()
}

fn noise(seed: u64, n: usize) -> Vec<f32> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            0.1 * v as f32
        })
        .collect::<Vec<f32>>()
}

#[test]
fn centre_only_goes_entirely_to_the_centre() {
    let m = noise(1, 3 * SR as usize);
    let [lp, rp, c] = upmix(&m, &m);
    let m64: Vec<f64> = m.iter().map(|&v| v as f64).collect();
    let err: Vec<f64> = c.iter().zip(&m64).map(|(a, b)| a - b).collect();
    let reference = power(middle(&m64));
    let c_err = db(power(middle(&err)) / reference);
    let side = db(power(middle(&lp)).max(power(middle(&rp))) / reference);
    println!("centre-only: C - M at {c_err:.1} dB, L'/R' at {side:.1} dB");
    assert!(c_err <= -60.0, "C differs from M by {c_err:.1} dB");
    assert!(side <= -60.0, "L'/R' at {side:.1} dB");
}

#[test]
fn hard_panned_source_stays_out_of_the_centre() {
    let x = noise(2, 3 * SR as usize);
    let silent = vec![0.0f32; x.len()];
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for (l, r) in [(&x, &silent), (&silent, &x)] {
        let [_, _, c] = upmix(l, r);
        let level = db(power(middle(&c)) / power(middle(&x64)));
        println!("hard-panned: C at {level:.1} dB");
        assert!(level <= -30.0, "C at {level:.1} dB");
    }
}

#[test]
fn uncorrelated_channels_stay_out_of_the_centre() {
    let (l, r) = (noise(3, 4 * SR as usize), noise(4, 4 * SR as usize));
    let [_, _, c] = upmix(&l, &r);
    let l64: Vec<f64> = l.iter().map(|&v| v as f64).collect();
    let level = db(power(middle(&c)) / power(middle(&l64)));
    println!("uncorrelated: C at {level:.1} dB");
    assert!(level <= -15.0, "C at {level:.1} dB");
}

#[test]
fn centre_of_a_mix_is_the_voice_and_uncorrelated_with_the_side() {
    let mix = TestMix::generate(SR, 6.0, 7);
    let [lp, _, c] = upmix(&mix.left, &mix.right);
    let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let voice = to64(&mix.voice);
    let side: Vec<f64> = mix
        .left
        .iter()
        .zip(&mix.right)
        .map(|(l, r)| (l - r) as f64)
        .collect();
    let with_voice = corr(middle(&c), middle(&voice));
    let with_side = corr(middle(&c), middle(&side));
    let recon: Vec<f64> = lp
        .iter()
        .zip(&c)
        .zip(&mix.left)
        .map(|((a, b), l)| a + b - *l as f64)
        .collect();
    let recon_db = db(power(middle(&recon)) / power(middle(&to64(&mix.left))));
    println!("mix: corr(C, voice) {with_voice:.3}, corr(C, L-R) {with_side:.3}, reconstruction {recon_db:.1} dB");
    assert!(with_voice >= 0.9, "corr(C, voice) = {with_voice:.3}");
    assert!(with_side.abs() <= 0.1, "corr(C, L-R) = {with_side:.3}");
    assert!(recon_db <= -80.0, "L' + C misses L by {recon_db:.1} dB");
}
