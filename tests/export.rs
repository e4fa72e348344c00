//! `soundstage export` writes the filters the engine runs: convolving its FIRs with their
//! inputs reproduces `soundstage render` (binaural mode, end to end through the command) and
//! the engine's output (speakers mode, with the upmix's outputs the engine makes), its files
//! say what they are, and what cannot be exported is refused in one line.

mod common;

use common::cli::{assert_error, assert_success, dir, read_wav, soundstage, write_wav};
use common::{error_db, noise};
use realfft::num_complex::Complex32;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::export::export;
use soundstage::design::filters::chain::{design, design_shortened, DesignInput};
use soundstage::design::model::plant::SphereHead;
use soundstage::dsp::contract::UPMIX_CHANNELS;
use soundstage::dsp::engine::Engine;
use soundstage::dsp::planar::Planar;
use soundstage::dsp::upmix::Upmix;
use soundstage::offline::measure::upmix_outputs;
use soundstage::offline::render::{render, stream};
use std::f64::consts::PI;
use std::path::Path;

/// The round trip's bound: the FIRs reproduce the engine this far below its output, dB.
const ROUND_TRIP_DB: f64 = -80.0;

/// Seconds of test signal: long enough for the upmix's smoothing and several frames.
const SECONDS: f64 = 0.75;

/// `signal` convolved with `fir`, `latency` samples earlier, as long as `signal`.
fn convolve_aligned(signal: &[f32], fir: &[f32], latency: usize) -> Vec<f64> {
    (0..signal.len())
        .map(|t| {
            let at = t + latency;
            fir.iter()
                .enumerate()
                .filter(|&(j, _)| j <= at && at - j < signal.len())
                .map(|(j, &h)| f64::from(h) * f64::from(signal[at - j]))
                .sum()
        })
        .collect()
}

/// Per driver, the sum over inputs of input i convolved with driver d's FIR of input i.
fn drive(inputs: &[(&[f32], &[Vec<f32>])], drivers: usize, latency: usize) -> Vec<Vec<f32>> {
    (0..drivers)
        .map(|d| {
            let mut feed = vec![0.0f64; inputs[0].0.len()];
            for (signal, firs) in inputs {
                for (y, v) in feed
                    .iter_mut()
                    .zip(convolve_aligned(signal, &firs[d], latency))
                {
                    *y += v;
                }
            }
            feed.into_iter().map(|v| v as f32).collect()
        })
        .collect()
}

/// The worse driver's error of `feeds` against `reference`, dB.
fn worst_error_db(feeds: &[Vec<f32>], reference: &[Vec<f32>]) -> f64 {
    feeds
        .iter()
        .zip(reference)
        .map(|(f, r)| error_db(f, r))
        .fold(f64::NEG_INFINITY, f64::max)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn in_binaural_mode_the_exported_firs_are_the_whole_render() {
    let d = dir();
    let len = (48_000.0 * SECONDS) as usize;
    let input = vec![noise(1, len, 0.1), noise(2, len, 0.1)];
    let wav_in = d.path().join("in.wav");
    let wav_out = d.path().join("out.wav");
    write_wav(&wav_in, 2, 32, true, &input);
    let sets = [
        "--set",
        "mode=binaural",
        "--set",
        "width=80",
        "--set",
        "gain=-6",
    ];
    let export_dir = d.path().join("filters");
    let mut args = vec!["export", export_dir.to_str().unwrap()];
    args.extend(sets);
    assert_success(&soundstage(&args));
    let mut args = vec![
        "render",
        wav_in.to_str().unwrap(),
        wav_out.to_str().unwrap(),
    ];
    args.extend(sets);
    assert_success(&soundstage(&args));

    let meta = json(&export_dir.join("filters.json"));
    assert_eq!(meta["format"], "soundstage-filters/1");
    assert_eq!(meta["sample_rate"], 48_000);
    assert_eq!(meta["mode"], "binaural");
    assert_eq!(meta["outputs"], serde_json::json!(["left", "right"]));
    let names: Vec<&str> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["left", "right"]);
    let taps = meta["taps"].as_u64().unwrap() as usize;
    let latency = meta["latency_samples"].as_u64().unwrap() as usize;
    assert_eq!((taps, latency), (1025, 512));
    assert!(
        meta["predicted"]["separation"]["nominal_db"]
            .as_f64()
            .unwrap()
            > 15.0
    );

    let firs: Vec<Vec<Vec<f32>>> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let (spec, channels) = read_wav(&export_dir.join(i["file"].as_str().unwrap()));
            assert_eq!(spec.sample_format, hound::SampleFormat::Float);
            assert_eq!((spec.channels, spec.bits_per_sample), (2, 32));
            assert!(channels.iter().all(|c| c.len() == taps));
            channels
        })
        .collect();
    let feeds = drive(&[(&input[0], &firs[0]), (&input[1], &firs[1])], 2, latency);
    let (_, rendered) = read_wav(&wav_out);
    let error = worst_error_db(&feeds, &rendered);
    eprintln!("binaural export against the render: {error:.1} dB");
    assert!(error < ROUND_TRIP_DB, "{error:.1} dB");
}

/// Time-domain error of the upmix's outputs, as signals, through the FIRs against the
/// engine, dB: the upmix's mask is applied per STFT bin, so a signal made of its frames is
/// only close to what the engine's frames multiply (see the test below for exactness).
const UPMIX_AS_SIGNALS_DB: f64 = -40.0;

/// A speakers-mode design of three drivers, its full-length export, and a stereo input of a
/// centred source and uncorrelated sides (so that the upmix takes a centre out).
struct Speakers {
    settings: Settings,
    made: soundstage::design::filters::chain::Design,
    exported: soundstage::design::export::ExportedFilters,
    left: Vec<f32>,
    right: Vec<f32>,
    rendered: Vec<Vec<f32>>,
}

const SAMPLE_RATE: f64 = 48_000.0;
const OUTPUTS: usize = 3;

impl Speakers {
    fn new() -> Self {
        let settings = Settings::default();
        let len = (SAMPLE_RATE * SECONDS) as usize;
        let centre = noise(3, len, 0.08);
        let with_centre = |seed| -> Vec<f32> {
            noise(seed, len, 0.05)
                .iter()
                .zip(&centre)
                .map(|(a, c)| a + c)
                .collect()
        };
        let (left, right) = (with_centre(4), with_centre(5));
        let made = design(
            &DesignInput {
                settings,
                outputs: OUTPUTS,
                sample_rate: SAMPLE_RATE,
            },
            &SphereHead::default(),
        );
        assert_eq!(made.taps, made.filters.layout.design_taps());
        let exported = export(&made);
        let rendered = render(
            &settings,
            OUTPUTS,
            SAMPLE_RATE,
            &SphereHead::default(),
            &left,
            &right,
        );
        Self {
            settings,
            made,
            exported,
            left,
            right,
            rendered,
        }
    }

    /// The bass path: the input's own left and right through their FIRs.
    fn bass(&self) -> Vec<Vec<f32>> {
        let inputs = &self.exported.inputs;
        drive(
            &[
                (&self.left, &inputs[3].filters),
                (&self.right, &inputs[4].filters),
            ],
            OUTPUTS,
            self.exported.latency_samples,
        )
    }
}

#[test]
fn in_speakers_mode_the_inputs_are_the_upmixs_outputs_and_the_bass_path() {
    let s = Speakers::new();
    let names: Vec<&str> = s.exported.inputs.iter().map(|i| i.name).collect();
    assert_eq!(
        names,
        [
            "side_left",
            "side_right",
            "centre",
            "bass_left",
            "bass_right"
        ]
    );
    assert_eq!(s.settings.mode, Mode::Speakers);
    let upmix = upmix_outputs(&s.made.filters, SAMPLE_RATE, &s.left, &s.right);
    // The upmix is lossless: L' + C is the input's left.
    let summed: Vec<f32> = upmix[0].iter().zip(&upmix[2]).map(|(a, c)| a + c).collect();
    let lossless = error_db(&summed, &s.left);
    assert!(lossless < -100.0, "{lossless:.1} dB");
    let inputs: Vec<(&[f32], &[Vec<f32>])> = upmix
        .iter()
        .zip(&s.exported.inputs)
        .map(|(u, i)| (u.as_slice(), i.filters.as_slice()))
        .collect();
    let mut feeds = drive(&inputs, OUTPUTS, s.exported.latency_samples);
    for (f, b) in feeds.iter_mut().zip(s.bass()) {
        f.iter_mut().zip(b).for_each(|(y, v)| *y += v);
    }
    let error = worst_error_db(&feeds, &s.rendered);
    eprintln!(
        "speakers export on the upmix's outputs as signals against the engine: {error:.1} dB"
    );
    assert!(error < UPMIX_AS_SIGNALS_DB, "{error:.1} dB");
}

#[test]
fn in_speakers_mode_the_firs_on_the_upmixs_frames_are_exactly_the_engine() {
    // The upmix's outputs frame by frame, as the engine makes them (periodic Hann frames,
    // hop half a frame, zero-padded FFT), each multiplied by the spectra of the exported FIRs
    // and overlap-added: the engine's STFT with the exported taps in place of its own.
    let s = Speakers::new();
    let layout = s.made.filters.layout;
    let (frame_len, hop, fft_len) = (layout.frame_len, layout.hop, layout.fft_len);
    let len = s.left.len();
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);
    let spectrum = |fir: &[f32]| {
        let mut time = vec![0.0; fft_len];
        time[..fir.len()].copy_from_slice(fir);
        let mut out = forward.make_output_vec();
        forward.process(&mut time, &mut out).unwrap();
        out
    };
    let firs: Vec<Vec<Vec<Complex32>>> = s.exported.inputs[..UPMIX_CHANNELS]
        .iter()
        .map(|i| i.filters.iter().map(|f| spectrum(f)).collect())
        .collect();
    let window: Vec<f32> = (0..frame_len)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / frame_len as f64).cos()) as f32)
        .collect();
    let mut upmix = Upmix::new(layout.bins(), hop, SAMPLE_RATE);
    let mut channels: [Planar; UPMIX_CHANNELS] =
        std::array::from_fn(|_| Planar::zeros(layout.bins()));
    let latency = s.exported.latency_samples;
    let mut feeds = s.bass();
    let mut start = -(hop as isize);
    while start < len as isize {
        let frame_spectrum = |x: &[f32]| {
            let mut time: Vec<f32> = (0..fft_len)
                .map(|t| {
                    let at = start + t as isize;
                    if t < frame_len && at >= 0 && (at as usize) < len {
                        x[at as usize] * window[t]
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut out = forward.make_output_vec();
            forward.process(&mut time, &mut out).unwrap();
            out
        };
        let (l, r) = (frame_spectrum(&s.left), frame_spectrum(&s.right));
        upmix.process(&l, &r, &s.made.filters.centre_share, &mut channels);
        for (d, feed) in feeds.iter_mut().enumerate() {
            let mut y: Vec<Complex32> = (0..layout.bins())
                .map(|k| {
                    (0..UPMIX_CHANNELS)
                        .map(|c| firs[c][d][k] * channels[c].get(k))
                        .sum()
                })
                .collect();
            y[0].im = 0.0;
            y[layout.bins() - 1].im = 0.0;
            let mut time = vec![0.0; fft_len];
            inverse.process(&mut y, &mut time).unwrap();
            for (t, v) in time.iter().enumerate() {
                let at = start + t as isize - latency as isize;
                if at >= 0 && (at as usize) < len {
                    feed[at as usize] += v / fft_len as f32;
                }
            }
        }
        start += hop as isize;
    }
    let error = worst_error_db(&feeds, &s.rendered);
    eprintln!("speakers export on the upmix's frames against the engine: {error:.1} dB");
    assert!(error < ROUND_TRIP_DB, "{error:.1} dB");
}

#[test]
fn shortened_firs_are_what_the_engine_plays_of_the_shortened_design() {
    // `--taps` designs with a shorter window; the engine can play that set, and its FIRs
    // reproduce it as the full-length ones reproduce the full design.
    let settings = Settings {
        mode: Mode::Binaural,
        ..Settings::default()
    };
    let input = DesignInput {
        settings,
        outputs: 2,
        sample_rate: SAMPLE_RATE,
    };
    let taps = 200;
    let made = design_shortened(&input, &SphereHead::default(), taps);
    let exported = export(&made);
    assert!(exported
        .inputs
        .iter()
        .all(|i| i.filters.iter().all(|f| f.len() == taps)));
    assert_eq!(exported.latency_samples, 100);
    let len = (SAMPLE_RATE * SECONDS) as usize;
    let (left, right) = (noise(6, len, 0.1), noise(7, len, 0.1));
    let mut engine = Engine::new(
        Box::new(made.filters.clone()),
        SAMPLE_RATE,
        settings.controls(),
    );
    engine.settle_controls();
    let played = stream(&mut engine, &left, &right, &[512], |_| {});
    let feeds = drive(
        &[
            (&left, &exported.inputs[0].filters),
            (&right, &exported.inputs[1].filters),
        ],
        2,
        exported.latency_samples,
    );
    let error = worst_error_db(&feeds, &played);
    eprintln!("{taps}-tap export against the engine playing that design: {error:.1} dB");
    assert!(error < ROUND_TRIP_DB, "{error:.1} dB");
}

#[test]
fn export_says_what_shortening_costs_and_writes_csv_beside_the_wavs() {
    let d = dir();
    let out = d.path().join("short");
    let result = soundstage(&[
        "export",
        out.to_str().unwrap(),
        "--taps",
        "256",
        "--format",
        "csv",
    ]);
    assert_success(&result);
    let summary = String::from_utf8_lossy(&result.stdout);
    assert!(
        summary.contains("shortening to 256 taps costs"),
        "{summary}"
    );
    let meta = json(&out.join("filters.json"));
    assert_eq!(meta["taps"], 256);
    assert_eq!(meta["latency_samples"], 128);
    assert_eq!(meta["mode"], "speakers");
    assert!(meta["upmix"].as_str().unwrap().contains("L' = L - C"));
    let cost = meta["predicted"]["separation"]["shortening_cost_db"]
        .as_f64()
        .unwrap();
    assert!(cost > 0.1 && cost < 10.0, "{cost} dB");
    let first = &meta["inputs"][0];
    let (_, channels) = read_wav(&out.join(first["file"].as_str().unwrap()));
    let csv = first["csv"].as_array().unwrap();
    assert_eq!(csv.len(), channels.len());
    for (file, channel) in csv.iter().zip(&channels) {
        let text = std::fs::read_to_string(out.join(file.as_str().unwrap())).unwrap();
        let values: Vec<f32> = text.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(
            &values, channel,
            "{file}: one coefficient per line, as in the WAV"
        );
    }
}

#[test]
fn what_cannot_be_exported_is_refused_in_one_line() {
    let d = dir();
    let out = d.path().join("x");
    let out = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--set", "latency=low"],
            "low latency's bass crossover is a recursive filter, not FIR taps: export in the normal latency mode",
        ),
        (vec!["--taps", "8"], "8 taps: the filters can be 16 to 1025 taps long"),
        (vec!["--taps", "4096"], "4096 taps: the filters can be 16 to 1025 taps long"),
        (
            vec!["--rate", "1000"],
            "--rate 1000: Soundstage designs for",
        ),
    ] {
        let mut all = vec!["export", out];
        all.extend(args);
        assert_error(&soundstage(&all), needle);
        assert!(!Path::new(out).exists(), "nothing is written for {needle}");
    }
    let file = d.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_error(
        &soundstage(&["export", file.to_str().unwrap()]),
        "export writes its files into a directory",
    );
}

#[test]
fn a_four_driver_line_exports_a_channel_per_driver_named_in_line_order() {
    let d = dir();
    let out = d.path().join("line");
    assert_success(&soundstage(&[
        "export",
        out.to_str().unwrap(),
        "--preset",
        "soundbar",
        "--outputs",
        "4",
        "--set",
        "mode=headphones",
    ]));
    let meta = json(&out.join("filters.json"));
    assert_eq!(
        meta["outputs"],
        serde_json::json!(["left", "inner_left", "inner_right", "right"])
    );
    assert_eq!(meta["mode"], "headphones");
    assert!(
        meta["predicted"]["separation"].is_null(),
        "headphones cancel nothing"
    );
    for input in meta["inputs"].as_array().unwrap() {
        let (spec, channels) = read_wav(&out.join(input["file"].as_str().unwrap()));
        assert_eq!(spec.channels, 4);
        assert!(channels.iter().all(|c| c.len() == 1025));
    }
}

#[test]
fn the_editor_exports_a_device_session_as_the_command_line_exports_its_file() {
    use common::sofa::{self, Device, DeviceFaults, DeviceFile, Head, Pose};
    use soundstage::design::model::head::{HeadChoice, PlantCache};
    use soundstage::design::model::sofa::{read_any, SofaSet};
    use soundstage::design::model::stored_device::StoredDevice;
    use soundstage::editor::export::{export_session, SessionExport, FOLDER_NAME};
    use soundstage::params::SoundstageParams;
    use std::sync::Arc;
    let d = dir();
    let file = d.path().join("device.sofa");
    let device = Device {
        head: Head::Synthetic,
        drivers: 3,
        spacing: 0.125,
        poses: vec![Pose {
            offset: 0.0,
            distance: 0.5,
            yaw: 0.0,
        }],
        file: DeviceFile::Mimo,
    };
    sofa::write_device(&file, "prototype", &device, DeviceFaults::default());
    let cli = d.path().join("cli");
    assert_success(&soundstage(&[
        "export",
        cli.to_str().unwrap(),
        "--sofa",
        file.to_str().unwrap(),
        "--outputs",
        "3",
        "--taps",
        "512",
        "--format",
        "csv",
        "--rate",
        "44100",
    ]));
    // The session as the editor sees it: the plugin's defaults, the device chosen from its
    // stored copy (the file is gone) and its geometry on the parameters.
    let SofaSet::Device(set) = read_any(&file).unwrap() else {
        panic!("a device file");
    };
    std::fs::remove_file(&file).unwrap();
    let choice = HeadChoice {
        device_chosen: true,
        device: Some(Arc::new(StoredDevice::from_set(&set).unwrap())),
        ..HeadChoice::default()
    };
    let settings = Settings {
        spacing_m: 0.125,
        distance_m: 0.5,
        ..SoundstageParams::default().settings()
    };
    let session = SessionExport::of(
        settings,
        3,
        &choice,
        &mut PlantCache::default(),
        (44_100, Some(512), true),
        String::new(),
    )
    .unwrap();
    let plugin_parent = d.path().join("plugin");
    std::fs::create_dir(&plugin_parent).unwrap();
    let said = export_session(&plugin_parent, &session).unwrap();
    assert!(
        said.contains("5 inputs × 3 drivers × 512 taps at 44100 Hz"),
        "{said}"
    );
    let plugin = plugin_parent.join(FOLDER_NAME);
    let (from_cli, from_plugin) = (
        json(&cli.join("filters.json")),
        json(&plugin.join("filters.json")),
    );
    for key in [
        "format",
        "sample_rate",
        "taps",
        "latency_samples",
        "mode",
        "inputs",
        "outputs",
        "parameters",
        "settings",
        "geometry",
        "plant",
    ] {
        let plugin_value = if key == "plant" {
            serde_json::json!({"name": from_plugin[key]["name"], "sofa": from_cli[key]["sofa"]})
        } else {
            from_plugin[key].clone()
        };
        assert_eq!(plugin_value, from_cli[key], "filters.json's {key}");
    }
    let mut worst = f64::NEG_INFINITY;
    for input in from_cli["inputs"].as_array().unwrap() {
        let name = input["file"].as_str().unwrap();
        let ((spec, a), (_, b)) = (read_wav(&cli.join(name)), read_wav(&plugin.join(name)));
        assert_eq!(spec.sample_rate, 44_100);
        for (x, y) in a.iter().zip(&b) {
            worst = worst.max(error_db(y, x));
        }
        for csv in input["csv"].as_array().unwrap() {
            let csv = csv.as_str().unwrap();
            assert!(
                plugin.join(csv).is_file(),
                "{csv} missing from the plugin's export"
            );
        }
    }
    let separation =
        |j: &serde_json::Value| j["predicted"]["separation"]["nominal_db"].as_f64().unwrap();
    println!(
        "editor export of a device session against the command line's of its file: {worst:.1} dB; separation {:.2} / {:.2} dB",
        separation(&from_plugin),
        separation(&from_cli)
    );
    assert!(
        worst <= ROUND_TRIP_DB,
        "the plugin exports other filters: {worst:.1} dB"
    );
    assert!((separation(&from_plugin) - separation(&from_cli)).abs() < 0.01);
}
