//! Measurements made by running the real engine on synthetic signals: the upmix's behaviour,
//! transparency and latency. The tests assert them; `soundstage report` prints them.

use crate::design::config::settings::Settings;
use crate::design::filters::crossover;
use crate::design::model::plant::SphereHead;

use crate::dsp::contract::{Controls, FilterSet, FrameLayout, LatencyMode};
use crate::dsp::engine::Engine;
use crate::offline::render::{engine_for, stream};
use crate::offline::test_mix::TestMix;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use realfft::num_complex::Complex32;

/// What the upmix does with the signals the brief names.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct UpmixFigures {
    /// Centre-only input (L = R): C − M relative to M, dB.
    pub centre_only_c_error_db: f64,
    /// Centre-only input: the louder of L', R' relative to M, dB.
    pub centre_only_sides_db: f64,
    /// Hard-panned input: C relative to the input, dB (the louder of left and right panning).
    pub hard_panned_c_db: f64,
    /// Uncorrelated L/R noise: C relative to the input, dB.
    pub uncorrelated_c_db: f64,
    /// Centred voice + panned instruments + ambience: correlation of C with the voice.
    pub mix_corr_c_voice: f64,
    /// The same mix: correlation of C with L − R.
    pub mix_corr_c_side: f64,
    /// L' + C − L relative to L, dB.
    pub reconstruction_db: f64,
}

/// A filter set that routes the upmix channels straight out (outputs L', R', C), so that the
/// engine's own upmix (at `layout`'s frame length, taking `centre_share` of the centre per
/// bin) can be listened to by itself.
fn routing_filters(layout: FrameLayout, centre_share: Vec<f32>) -> FilterSet {
    let bins = layout.bins();
    let mut set = FilterSet::plain(layout, 3);
    for k in 0..bins {
        let phase = -2.0 * std::f64::consts::PI * k as f64 * layout.bulk_delay as f64
            / layout.fft_len as f64;
        let delay = Complex32::new(phase.cos() as f32, phase.sin() as f32);
        for out in 0..3 {
            // Output `out` carries upmix channel `out` alone.
            set.base.set(set.index(k, out, out), delay);
        }
        // The engine adds the plain feed in the time domain; take it out again.
        set.sides[0].set(k, -delay);
        set.sides[1].set(2 * bins + k, -delay);
    }
    set.sides_used = vec![[true, false], [false, false], [false, true]];
    set.centre_share = centre_share;
    set
}

/// The engine's upmix of `left`/`right` in `mode`'s layout as time signals `[L', R', C]`,
/// aligned with the input.
pub fn upmix(left: &[f32], right: &[f32], sample_rate: f64, mode: LatencyMode) -> [Vec<f64>; 3] {
    let layout = FrameLayout::new(sample_rate, mode);
    let set = routing_filters(layout, vec![1.0; layout.bins()]);
    let out = route(set, sample_rate, left, right);
    std::array::from_fn(|c| out[c].iter().map(|&v| v as f64).collect())
}

/// The upmix's outputs `[L', R', C]` of `left`/`right` as signals, aligned with the input, as
/// the engine running `filters` makes them (its frames, its centre share): what the FIRs
/// `soundstage export` writes in speakers and headphone modes read. The mask acts per bin of
/// each frame, so these signals are close to what the engine's frames multiply, not exact.
pub fn upmix_outputs(
    filters: &FilterSet,
    sample_rate: f64,
    left: &[f32],
    right: &[f32],
) -> Vec<Vec<f32>> {
    let set = routing_filters(filters.layout, filters.centre_share.clone());
    route(set, sample_rate, left, right)
}

/// `left`/`right` through an engine running the routing set `set`.
fn route(set: FilterSet, sample_rate: f64, left: &[f32], right: &[f32]) -> Vec<Vec<f32>> {
    let mut engine = Engine::new(
        Box::new(set),
        sample_rate,
        Controls {
            width: 0.0,
            gain: 1.0,
            bypass: false,
            preview: false,
        },
    );
    stream(&mut engine, left, right, &[512], |_| {})
}

/// Mean power of a signal, in double precision.
pub fn power<T: Copy + Into<f64>>(x: &[T]) -> f64 {
    x.iter()
        .map(|&v| {
            let v: f64 = v.into();
            v * v
        })
        .sum::<f64>()
        / x.len().max(1) as f64
}

/// 10·log10 with a floor, for printing and comparing levels.
pub fn db(x: f64) -> f64 {
    10.0 * x.max(1e-300).log10()
}

/// The settled middle of a signal (the smoothing needs a moment at the start).
fn middle(x: &[f64]) -> &[f64] {
    &x[x.len() / 8..x.len() * 7 / 8]
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (power(a) * power(b)).sqrt() / a.len() as f64
}

fn to64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

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

/// Measures the upmix at `sample_rate` in `mode`'s layout on seeded signals.
pub fn upmix_figures(sample_rate: f64, mode: LatencyMode) -> UpmixFigures {
    let upmix = |l: &[f32], r: &[f32], sample_rate| upmix(l, r, sample_rate, mode);
    let n = (3.0 * sample_rate) as usize;
    let m = noise(1, n, 0.1);
    let [lp, rp, c] = upmix(&m, &m, sample_rate);
    let m64 = to64(&m);
    let err: Vec<f64> = c.iter().zip(&m64).map(|(a, b)| a - b).collect();
    let reference = power(middle(&m64));
    let centre_only_c_error_db = db(power(middle(&err)) / reference);
    let centre_only_sides_db = db(power(middle(&lp)).max(power(middle(&rp))) / reference);

    let x = noise(2, n, 0.1);
    let silent = vec![0.0f32; n];
    let x64 = to64(&x);
    let hard_panned_c_db = [(&x, &silent), (&silent, &x)]
        .iter()
        .map(|(l, r)| db(power(middle(&upmix(l, r, sample_rate)[2])) / power(middle(&x64))))
        .fold(f64::NEG_INFINITY, f64::max);

    let (l, r) = (noise(3, 4 * n / 3, 0.1), noise(4, 4 * n / 3, 0.1));
    let uncorrelated_c_db =
        db(power(middle(&upmix(&l, &r, sample_rate)[2])) / power(middle(&to64(&l))));

    let mix = TestMix::generate(sample_rate, 6.0, 7);
    let [lp, _, c] = upmix(&mix.left, &mix.right, sample_rate);
    let side: Vec<f64> = mix
        .left
        .iter()
        .zip(&mix.right)
        .map(|(l, r)| (l - r) as f64)
        .collect();
    let recon: Vec<f64> = lp
        .iter()
        .zip(&c)
        .zip(&mix.left)
        .map(|((a, b), l)| a + b - *l as f64)
        .collect();
    UpmixFigures {
        centre_only_c_error_db,
        centre_only_sides_db,
        hard_panned_c_db,
        uncorrelated_c_db,
        mix_corr_c_voice: correlation(middle(&c), middle(&to64(&mix.voice))),
        mix_corr_c_side: correlation(middle(&c), middle(&side)),
        reconstruction_db: db(power(middle(&recon)) / power(middle(&to64(&mix.left)))),
    }
}

/// `x` as the crossover of `mode`'s layout passes it at width 0: unchanged in the normal
/// layout, through the time-domain split's allpass (low-pass plus high-pass) in the low
/// one. Filtered by one FFT of the whole signal, padded so that the allpass's decay does not
/// wrap.
pub fn through_crossover(
    x: &[f32],
    sample_rate: f64,
    mode: LatencyMode,
    crossover_hz: f64,
) -> Vec<f32> {
    if crossover::in_filters(mode) {
        return x.to_vec();
    }
    let len = (x.len() + sample_rate as usize).next_power_of_two();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let mut time: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    time.resize(len, 0.0);
    let mut spectrum = planner.plan_fft_forward(len).make_output_vec();
    planner
        .plan_fft_forward(len)
        .process(&mut time, &mut spectrum)
        .expect("buffers are sized by the plan");
    for (k, bin) in spectrum.iter_mut().enumerate() {
        let freq = k as f64 * sample_rate / len as f64;
        let split = crossover::split(mode, freq, crossover_hz, sample_rate);
        *bin *= (split.plain + split.processed) / len as f64;
    }
    spectrum[0].im = 0.0;
    if let Some(last) = spectrum.last_mut() {
        last.im = 0.0;
    }
    planner
        .plan_fft_inverse(len)
        .process(&mut spectrum, &mut time)
        .expect("DC and Nyquist are real and the buffers are sized by the plan");
    time[..x.len()].iter().map(|&v| v as f32).collect()
}

/// With width and depth at 0: how far the output is from the input (latency compensated;
/// in the low-latency layout through its crossover's allpass, see [`through_crossover`]),
/// dB, on a test mix, for `settings`' mode and geometry.
pub fn transparency_db(settings: &Settings, outputs: usize, sample_rate: f64) -> f64 {
    let mix = TestMix::generate(sample_rate, 2.0, 11);
    let s = Settings {
        width: 0.0,
        depth: 0.0,
        ..*settings
    };
    let (mut engine, _) = engine_for(&s, outputs, sample_rate, &SphereHead::default());
    let out = stream(&mut engine, &mix.left, &mix.right, &[512], |_| {});
    let err = |o: &[f32], i: &[f32]| {
        let e: Vec<f64> = o.iter().zip(i).map(|(a, b)| (a - b) as f64).collect();
        db(power(&e) / power(&to64(i)))
    };
    let expected = |x: &[f32]| through_crossover(x, sample_rate, s.latency, s.bass_crossover_hz);
    err(&out[0], &expected(&mix.left)).max(err(&out[outputs - 1], &expected(&mix.right)))
}

/// Reported latency and where a left-only impulse peaks on the leftmost output.
pub fn impulse_latency(settings: &Settings, outputs: usize, sample_rate: f64) -> (usize, usize) {
    let (mut engine, _) = engine_for(settings, outputs, sample_rate, &SphereHead::default());
    let latency = engine.latency();
    let at = 300;
    let mut x = vec![0.0f32; latency + 4096];
    x[at] = 1.0;
    let silence = vec![0.0f32; x.len()];
    let mut outs = vec![vec![0.0f32; x.len()]; outputs];
    let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    engine.process([&x, &silence], &mut slices);
    let sum: Vec<f32> = (0..x.len())
        .map(|i| outs.iter().map(|o| o[i].abs()).sum())
        .collect();
    let peak = (0..sum.len())
        .max_by(|&a, &b| sum[a].total_cmp(&sum[b]))
        .unwrap_or(at);
    (latency, peak - at)
}
