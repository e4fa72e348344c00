//! The cost of `process()`: 2→2 and 2→3 at 48 kHz for host blocks of 32, 64, 512 and 4096
//! samples, in both latency modes (the low mode's ratio to normal printed per case), against
//! a bare STFT analysis/synthesis of the same frame size and outputs (the
//! floor of this architecture: two forward FFTs and one inverse per output per hop,
//! windowing and overlap-add), and the
//! design time per preset that decides how soon a parameter move is heard, and the render's
//! output meters.
//! Run with `cargo bench --bench process`; the summary prints multiples of real time.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use realfft::RealFftPlanner;
use soundstage::design::config::presets;
use soundstage::design::config::settings::Settings;
use soundstage::design::filters::chain::{design, design_from, DesignInput};
use soundstage::design::model::plant::SphereHead;
use soundstage::dsp::contract::{FrameLayout, LatencyMode};
use soundstage::dsp::handover;
use soundstage::dsp::processor::Processor;
use soundstage::offline::levels::{LoudnessMeter, TruePeakMeter};
use soundstage::offline::render::engine_for;
use soundstage::offline::test_mix::TestMix;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../tests/common/threads.rs"]
mod threads;

/// CPU seconds used so far by this process's designer thread (0 where the system does not
/// say).
fn designer_cpu_s() -> f64 {
    threads::thread_cpu_s("soundstage-desi").unwrap_or(0.0)
}

const SR: f64 = 48_000.0;
/// Audio per measured iteration: one second.
const SECONDS: usize = 1;

/// The floor: what any STFT processor with this frame layout and output count must spend.
struct BareStft {
    layout: FrameLayout,
    forward: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    inverse: std::sync::Arc<dyn realfft::ComplexToReal<f32>>,
    window: Vec<f32>,
    time: Vec<f32>,
    spectra: [Vec<realfft::num_complex::Complex32>; 2],
    /// The spectrum one output's inverse FFT consumes.
    synthesis: Vec<realfft::num_complex::Complex32>,
    scratch: Vec<realfft::num_complex::Complex32>,
    overlap: Vec<Vec<f32>>,
}

impl BareStft {
    fn new(outputs: usize) -> Self {
        let layout = FrameLayout::new(SR, LatencyMode::Normal);
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
            spectra: [forward.make_output_vec(), forward.make_output_vec()],
            synthesis: forward.make_output_vec(),
            scratch,
            overlap: vec![vec![0.0; layout.fft_len]; outputs],
            forward,
            inverse,
            layout,
        }
    }

    /// One second of hops over `input` (stereo): analysis of both channels, synthesis of
    /// every output (from the left or right spectrum in turn), overlap-add.
    fn run(&mut self, input: &[Vec<f32>; 2], output: &mut [Vec<f32>]) {
        let (w, hop, n) = (self.layout.frame_len, self.layout.hop, self.layout.fft_len);
        let mut start = 0;
        while start + w <= input[0].len() {
            for (ch, spectrum) in self.spectra.iter_mut().enumerate() {
                for i in 0..w {
                    self.time[i] = input[ch][start + i] * self.window[i];
                }
                self.time[w..].fill(0.0);
                let _ =
                    self.forward
                        .process_with_scratch(&mut self.time, spectrum, &mut self.scratch);
            }
            for (o, (overlap, out)) in self.overlap.iter_mut().zip(output.iter_mut()).enumerate() {
                self.synthesis.copy_from_slice(&self.spectra[o % 2]);
                let last = self.synthesis.len() - 1;
                self.synthesis[0].im = 0.0;
                self.synthesis[last].im = 0.0;
                let _ = self.inverse.process_with_scratch(
                    &mut self.synthesis,
                    &mut self.time,
                    &mut self.scratch,
                );
                for (acc, t) in overlap.iter_mut().zip(&self.time) {
                    *acc += t;
                }
                out[start..start + hop].copy_from_slice(&overlap[..hop]);
                overlap.copy_within(hop..n, 0);
                overlap[n - hop..].fill(0.0);
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
    for latency in LatencyMode::ALL {
        let settings = Settings {
            latency,
            ..settings
        };
        // Normal mode keeps the names earlier runs were saved under.
        let prefix = match latency {
            LatencyMode::Normal => "",
            LatencyMode::Low => "low_",
        };
        for outputs in [2usize, 3] {
            for block in [32usize, 64, 512, 4096] {
                let (engine, _) = engine_for(&settings, outputs, SR, &SphereHead::default());
                // The plugin's whole process(): hand-over poll, in-place copy, engine.
                let (_designer, audio) = handover::channel();
                let mut processor = Processor::new(engine, audio, block, SR);
                let mut out = vec![vec![0.0f32; block]; outputs];
                let controls = settings.controls();
                let mut run = || {
                    for start in (0..len).step_by(block) {
                        let n = (start + block).min(len) - start;
                        out[0][..n].copy_from_slice(&input[0][start..start + n]);
                        out[1][..n].copy_from_slice(&input[1][start..start + n]);
                        let mut channels: [&mut [f32]; 4] = Default::default();
                        for (slot, o) in channels.iter_mut().zip(out.iter_mut()) {
                            *slot = &mut o[..n];
                        }
                        processor.process(controls, &mut channels[..outputs], None);
                    }
                    black_box(&out);
                };
                group.bench_function(
                    BenchmarkId::new(format!("{prefix}2to{outputs}"), block),
                    |b| b.iter(&mut run),
                );
                let t = Instant::now();
                for _ in 0..5 {
                    run();
                }
                report.push((
                    format!("{prefix}2->{outputs} block {block}"),
                    outputs,
                    t.elapsed().as_secs_f64() / 5.0,
                ));
            }
        }
    }
    {
        // Width automated all the time (a new value every block): the filter matrix is
        // rebuilt every frame instead of only when something changes.
        let block = 512;
        let (engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
        let (_designer, audio) = handover::channel();
        let mut processor = Processor::new(engine, audio, block, SR);
        let mut out = vec![vec![0.0f32; block]; 2];
        let mut controls = settings.controls();
        let mut run = || {
            for start in (0..len).step_by(block) {
                let n = (start + block).min(len) - start;
                out[0][..n].copy_from_slice(&input[0][start..start + n]);
                out[1][..n].copy_from_slice(&input[1][start..start + n]);
                controls.width = 0.5 + 0.5 * (start as f32 * 1e-4).sin();
                let (left, right) = out.split_at_mut(1);
                let mut channels = [&mut left[0][..n], &mut right[0][..n]];
                processor.process(controls, &mut channels, None);
            }
            black_box(&out);
        };
        group.bench_function("2to2_width_automated/512", |b| b.iter(&mut run));
        let t = Instant::now();
        for _ in 0..5 {
            run();
        }
        report.push((
            "2->2 block 512, width automated".to_string(),
            2,
            t.elapsed().as_secs_f64() / 5.0,
        ));
    }
    let mut floors = Vec::new();
    for outputs in [2usize, 3] {
        let mut bare = BareStft::new(outputs);
        let mut out = vec![vec![0.0f32; len]; outputs];
        group.bench_function(format!("bare_stft_2to{outputs}"), |b| {
            b.iter(|| bare.run(black_box(&input), &mut out))
        });
        let t = Instant::now();
        for _ in 0..5 {
            bare.run(&input, &mut out);
        }
        floors.push((outputs, t.elapsed().as_secs_f64() / 5.0));
    }
    group.finish();
    println!("\nsummary (1 s of audio at 48 kHz per run, mean of 5 runs after criterion's):");
    for (outputs, floor) in &floors {
        println!(
            "  bare STFT 2->{outputs}: {:.3} ms = {:.0}x real time",
            floor * 1e3,
            1.0 / floor
        );
    }
    for (name, outputs, secs) in &report {
        let floor = floors
            .iter()
            .find(|(o, _)| o == outputs)
            .map_or(f64::NAN, |(_, f)| *f);
        println!(
            "  {name:26}: {:.3} ms = {:.0}x real time, {:.2}x the normal bare STFT 2->{outputs}",
            secs * 1e3,
            1.0 / secs,
            secs / floor
        );
    }
    let (normal, low) = report.split_at(8);
    for (n, l) in normal.iter().zip(low.iter().take(8)) {
        println!(
            "  {:26}: low latency costs {:.2}x normal ({:.3} ms against {:.3} ms)",
            l.0,
            l.2 / n.2,
            l.2 * 1e3,
            n.2 * 1e3
        );
    }
    for chunk in report.chunks_exact(4) {
        // Blocks 32, 64, 512, 4096 in that order: cost per sample at 32 against 4096.
        println!(
            "  {}: cost per sample at block 32 is {:.2}x that at block 4096",
            chunk[0].0.split(' ').next().unwrap_or(""),
            chunk[0].2 / chunk[3].2
        );
    }
}

/// Design time per preset and layout: the wall-clock part of how soon a parameter move is
/// heard (the designer wakes on the change; a new set starts fading in at the next hop).
/// Head tracking redesigns for every pose: `following` is a design for a pose 5 mm and 0.5°
/// from the last one's, its searches starting where that one's ended, as the designer does.
/// `zone5` is the same settings designed to hold over a ±5 cm listening zone.
fn bench_design(c: &mut Criterion) {
    let mut group = c.benchmark_group("design_48k");
    group.sample_size(10);
    let mut report = Vec::new();
    let head = SphereHead::default();
    for preset in presets::all() {
        let outputs_list = if preset.outputs == 2 {
            vec![2]
        } else {
            vec![2, preset.outputs]
        };
        for outputs in outputs_list {
            let input = DesignInput {
                settings: preset.apply(&Settings::default()),
                outputs,
                sample_rate: SR,
            };
            let mut zoned = input;
            zoned.settings.zone_m = 0.05;
            let mut moved = input;
            moved.settings.offset_m += 0.005;
            moved.settings.yaw_deg += 0.5;
            let previous = design(&input, &head);
            let start = previous.search_start();
            let name = format!("{}_{outputs}", preset.id);
            group.bench_function(&name, |b| b.iter(|| black_box(design(&input, &head))));
            group.bench_function(format!("{name}_following"), |b| {
                b.iter(|| black_box(design_from(&moved, &head, start)))
            });
            group.bench_function(format!("{name}_zone5"), |b| {
                b.iter(|| black_box(design(&zoned, &head)))
            });
            let time = |f: &dyn Fn()| {
                let t = Instant::now();
                for _ in 0..5 {
                    f();
                }
                t.elapsed().as_secs_f64() / 5.0
            };
            let cold = time(&|| drop(black_box(design(&input, &head))));
            let following = time(&|| drop(black_box(design_from(&moved, &head, start))));
            let zone = time(&|| drop(black_box(design(&zoned, &head))));
            let latency = FrameLayout::new(SR, LatencyMode::Normal).latency();
            report.push((name, cold, following, zone, latency));
        }
    }
    group.finish();
    let hop_ms = FrameLayout::new(SR, LatencyMode::Normal).hop as f64 / SR * 1e3;
    println!("\ndesign time and latency per preset (48 kHz):");
    for (name, cold, following, zone, latency) in report {
        println!(
            "  {name:20}: designed in {:.1} ms, {:.1} ms per pose when following a head, {:.1} ms \
             ({:.1}×) for a ±5 cm zone; a parameter move is heard within {:.1} ms (design + \
             {hop_ms:.1} ms hop); latency {latency} samples ({:.1} ms)",
            cold * 1e3,
            following * 1e3,
            zone * 1e3,
            zone / cold,
            cold * 1e3 + hop_ms,
            latency as f64 / SR * 1e3
        );
    }
}

/// The headphone preview's cost per second of audio, at 48 and 192 kHz with four outputs:
/// its ear filters are per-sample dot products whose length grows with the rate, so their
/// cost per second grows with its square, while the STFT's grows only a little faster than
/// the rate. The summary prints both modes and the 192 kHz / 48 kHz ratios.
fn bench_preview(c: &mut Criterion) {
    let mut group = c.benchmark_group("preview_4out_1s");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    let settings = presets::find("smart-speaker")
        .expect("preset")
        .apply(&Settings::default());
    let block = 512;
    let mut report = Vec::new();
    for rate in [48_000.0, 192_000.0] {
        let len = rate as usize;
        let mix = TestMix::generate(rate, 1.1, 5);
        let input = [mix.left[..len].to_vec(), mix.right[..len].to_vec()];
        for preview in [false, true] {
            let settings = Settings {
                preview,
                ..settings
            };
            let (mut engine, _) = engine_for(&settings, 4, rate, &SphereHead::default());
            let mut out = vec![vec![0.0f32; len]; 4];
            let mut run = || {
                for start in (0..len).step_by(block) {
                    let end = (start + block).min(len);
                    let mut chunk: Vec<&mut [f32]> =
                        out.iter_mut().map(|o| &mut o[start..end]).collect();
                    engine.process([&input[0][start..end], &input[1][start..end]], &mut chunk);
                }
                black_box(&out);
            };
            let name = format!(
                "{}k_{}",
                rate / 1000.0,
                if preview { "preview" } else { "speakers" }
            );
            group.bench_function(&name, |b| b.iter(&mut run));
            let t = Instant::now();
            for _ in 0..3 {
                run();
            }
            report.push((rate, preview, t.elapsed().as_secs_f64() / 3.0));
        }
    }
    group.finish();
    let cost = |rate: f64, preview: bool| {
        report
            .iter()
            .find(|(r, p, _)| *r == rate && *p == preview)
            .map_or(f64::NAN, |(_, _, s)| *s)
    };
    println!("\nheadphone preview, 4 outputs, seconds per second of audio:");
    for preview in [false, true] {
        let (at48, at192) = (cost(48_000.0, preview), cost(192_000.0, preview));
        println!(
            "  {:8}: 48 kHz {at48:.4} s, 192 kHz {at192:.4} s, ratio {:.2}",
            if preview { "preview" } else { "speakers" },
            at192 / at48
        );
    }
}

/// The designer following a head tracker: 100 poses per second (a head swaying ±10 cm and
/// turning ±10°) for three seconds, with an audio thread taking the sets, on each 2-driver
/// preset. Reports the designer thread's share of one core (the target: ≤ 30 %) and
/// how many designs it made per second (it paces itself to the engine's fades). Also
/// measured by criterion: one pose's design started from the nominal design's searches (a
/// pose up to 10 cm and 10° from it: more than the last pose's start would be).
fn bench_designer_following(c: &mut Criterion) {
    use soundstage::design::worker::{DesignEvents, DesignJob, DesignWorker};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let mut group = c.benchmark_group("designer_following_100hz");
    group.sample_size(10);
    let head: Arc<dyn soundstage::design::model::plant::Plant> = Arc::new(SphereHead::default());
    let mut report = Vec::new();
    for preset in presets::all()
        .iter()
        .filter(|p| p.outputs == 2 && p.id != "headphones")
    {
        let input = DesignInput {
            settings: preset.apply(&Settings::default()),
            outputs: 2,
            sample_rate: SR,
        };
        let sway = |step: u64, input: &DesignInput| {
            let t = step as f64 / 100.0;
            let mut moved = *input;
            moved.settings.offset_m += 0.1 * (3.0 * t).sin();
            moved.settings.yaw_deg += 10.0 * (2.0 * t).sin();
            moved
        };
        let previous = design(&input, head.as_ref());
        let start = previous.search_start().map(<[_]>::to_vec);
        group.bench_function(preset.id.as_str(), |b| {
            let mut step = 0;
            b.iter(|| {
                step += 1;
                black_box(design_from(
                    &sway(step, &input),
                    head.as_ref(),
                    start.as_deref(),
                ))
            })
        });
        let first = design(&input, head.as_ref());
        let engine = soundstage::dsp::engine::Engine::new(
            Box::new(first.filters),
            SR,
            input.settings.controls(),
        );
        let (designer, audio) = handover::channel();
        let events = DesignEvents::default();
        let pose = Arc::new(AtomicU64::new(0));
        let designs = Arc::new(AtomicU64::new(0));
        let (source_pose, counted, plant) = (pose.clone(), designs.clone(), head.clone());
        let worker = DesignWorker::spawn(
            move || DesignJob {
                generation: 0,
                input: sway(source_pose.load(Ordering::Acquire), &input),
                plant: plant.clone(),
                stand_in: None,
            },
            &events,
            designer,
            move |_| {
                counted.fetch_add(1, Ordering::Relaxed);
            },
            |_| {},
            DesignJob {
                generation: 0,
                input,
                plant: head.clone(),
                stand_in: None,
            },
        )
        .expect("the designer thread starts");
        let mut processor = Processor::new(engine, audio, 512, SR);
        let began = Instant::now();
        let cpu_before = designer_cpu_s();
        let mut sent = 0;
        while began.elapsed() < Duration::from_secs(3) {
            if began.elapsed() >= Duration::from_millis(10 * sent) {
                sent += 1;
                pose.store(sent, Ordering::Release);
                events.notify();
            }
            processor.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
        let elapsed = began.elapsed().as_secs_f64();
        let share = (designer_cpu_s() - cpu_before) / elapsed;
        let rate = designs.load(Ordering::Relaxed) as f64 / elapsed;
        drop(worker);
        report.push((preset.id.clone(), share, rate, sent as f64 / elapsed));
    }
    group.finish();
    println!("\ndesigner thread following a head tracker at 100 poses/s (48 kHz):");
    for (name, share, rate, poses) in report {
        println!(
            "  {name:16}: {:.0} % of one core, {rate:.0} designs/s for {poses:.0} poses/s",
            share * 100.0
        );
    }
}

/// The render's meters, per second of stereo audio at 48 kHz: the true peak and the
/// integrated loudness of every output run beside the engine on a render's other core, so
/// their cost is part of the whole-process speed.
fn bench_levels(c: &mut Criterion) {
    let mix = TestMix::generate(SR, SECONDS as f64, 5);
    let (left, right) = (&mix.left, &mix.right);
    let len = left.len();
    let mut group = c.benchmark_group("levels_48k_1s");
    group.throughput(Throughput::Elements(len as u64));
    group.bench_function("true_peak_2ch", |b| {
        b.iter(|| {
            let mut peaks = [TruePeakMeter::new(), TruePeakMeter::new()];
            for (meter, channel) in peaks.iter_mut().zip([left, right]) {
                meter.push(channel);
            }
            black_box(peaks.map(TruePeakMeter::finish))
        })
    });
    group.bench_function("loudness_2ch", |b| {
        b.iter(|| {
            let mut meter = LoudnessMeter::new(2, SR);
            meter.push(&[left, right]);
            black_box(meter.finish())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots would need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = bench, bench_design, bench_preview, bench_designer_following, bench_levels
}
criterion_main!(benches);
