//! The cost of `process()`: 2→2 and 2→3 at 48 kHz for host blocks of 32, 64, 512 and 4096
//! samples, against a bare STFT analysis/synthesis of the same frame size (the floor of this
//! architecture: two forward and two inverse FFTs per hop, windowing and overlap-add).
//! Run with `cargo bench --bench process`; each result is also printed as a multiple of
//! real time.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use realfft::RealFftPlanner;
use soundstage::design::filterset::FrameLayout;
use soundstage::design::plant::SphereHead;
use soundstage::design::presets;
use soundstage::design::settings::Settings;
use soundstage::render::engine_for;
use soundstage::testmix::TestMix;
use std::hint::black_box;
use std::time::{Duration, Instant};

const SR: f64 = 48_000.0;
/// Audio per measured iteration: one second.
const SECONDS: usize = 1;

/// The floor: what any STFT processor with this frame layout must spend.
struct BareStft {
    layout: FrameLayout,
    forward: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    inverse: std::sync::Arc<dyn realfft::ComplexToReal<f32>>,
    window: Vec<f32>,
    time: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex32>,
    scratch: Vec<realfft::num_complex::Complex32>,
    overlap: [Vec<f32>; 2],
}

impl BareStft {
    fn new() -> Self {
        let layout = FrameLayout::for_sample_rate(SR);
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(layout.fft_len);
        let inverse = planner.plan_fft_inverse(layout.fft_len);
        let scratch = forward.make_scratch_vec();
        Self {
            window: (0..layout.frame_len)
                .map(|i| {
                    (0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / layout.frame_len as f32).cos())
                        / layout.fft_len as f32
                })
                .collect(),
            time: vec![0.0; layout.fft_len],
            spectrum: forward.make_output_vec(),
            scratch,
            overlap: [vec![0.0; layout.fft_len], vec![0.0; layout.fft_len]],
            forward,
            inverse,
            layout,
        }
    }

    /// One second of hops over `input` (stereo): analysis, synthesis, overlap-add.
    fn run(&mut self, input: &[Vec<f32>; 2], output: &mut [Vec<f32>; 2]) {
        let (w, hop, n) = (self.layout.frame_len, self.layout.hop, self.layout.fft_len);
        let mut start = 0;
        while start + w <= input[0].len() {
            for ch in 0..2 {
                for i in 0..w {
                    self.time[i] = input[ch][start + i] * self.window[i];
                }
                self.time[w..].fill(0.0);
                let _ = self.forward.process_with_scratch(
                    &mut self.time,
                    &mut self.spectrum,
                    &mut self.scratch,
                );
                let last = self.spectrum.len() - 1;
                self.spectrum[0].im = 0.0;
                self.spectrum[last].im = 0.0;
                let _ = self.inverse.process_with_scratch(
                    &mut self.spectrum,
                    &mut self.time,
                    &mut self.scratch,
                );
                for (o, t) in self.overlap[ch].iter_mut().zip(&self.time) {
                    *o += t;
                }
                output[ch][start..start + hop].copy_from_slice(&self.overlap[ch][..hop]);
                self.overlap[ch].copy_within(hop..n, 0);
                self.overlap[ch][n - hop..].fill(0.0);
            }
            start += hop;
        }
    }
}

fn bench(c: &mut Criterion) {
    let len = SECONDS * SR as usize;
    let mix = TestMix::generate(SR, SECONDS as f64 + 0.1, 5);
    let input = [mix.left[..len].to_vec(), mix.right[..len].to_vec()];
    let settings = presets::find("smart-speaker")
        .expect("preset")
        .apply(&Settings::default());
    let mut group = c.benchmark_group("process_48k_1s");
    group.throughput(Throughput::Elements(len as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let mut report = Vec::new();
    for outputs in [2usize, 3] {
        for block in [32usize, 64, 512, 4096] {
            let (mut engine, _) = engine_for(&settings, outputs, SR, &SphereHead::default());
            let mut out = vec![vec![0.0f32; block]; outputs];
            let mut run = || {
                for start in (0..len).step_by(block) {
                    let end = (start + block).min(len);
                    let mut slices: Vec<&mut [f32]> =
                        out.iter_mut().map(|o| &mut o[..end - start]).collect();
                    engine.process([&input[0][start..end], &input[1][start..end]], &mut slices);
                }
                black_box(&out);
            };
            group.bench_function(BenchmarkId::new(format!("2to{outputs}"), block), |b| {
                b.iter(&mut run)
            });
            let t = Instant::now();
            for _ in 0..5 {
                run();
            }
            report.push((
                format!("2->{outputs} block {block}"),
                t.elapsed().as_secs_f64() / 5.0,
            ));
        }
    }
    let mut bare = BareStft::new();
    let mut out = [vec![0.0f32; len], vec![0.0f32; len]];
    group.bench_function("bare_stft_2to2", |b| {
        b.iter(|| bare.run(black_box(&input), &mut out))
    });
    let t = Instant::now();
    for _ in 0..5 {
        bare.run(&input, &mut out);
    }
    let floor = t.elapsed().as_secs_f64() / 5.0;
    group.finish();
    println!("\nsummary (1 s of audio at 48 kHz per run, mean of 5 runs after criterion's):");
    println!(
        "  bare STFT 2->2: {:.3} ms = {:.0}x real time",
        floor * 1e3,
        1.0 / floor
    );
    for (name, secs) in &report {
        println!(
            "  {name:18}: {:.3} ms = {:.0}x real time, {:.2}x the bare STFT",
            secs * 1e3,
            1.0 / secs,
            secs / floor
        );
    }
}

criterion_group! {
    name = benches;
    // Plots would need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
