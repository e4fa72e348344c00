//! The `soundstage` command as users run it: good renders in every supported format, and a
//! clear one-line error with a non-zero exit (and nothing lost) for each kind of bad input.

mod common;

use common::cli::{assert_error, assert_success, dir, read_wav, soundstage, stereo, write_wav};
use common::{error_db, noise};
use soundstage::offline::levels::{dbfs, true_peak};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn renders_every_supported_input_format_aligned_with_the_input() {
    let d = dir();
    for (bits, float) in [(16, false), (24, false), (32, true)] {
        let input = d.path().join(format!("in{bits}.wav"));
        write_wav(&input, 2, bits, float, &stereo());
        let (_, original) = read_wav(&input);
        let output = d.path().join(format!("out{bits}.wav"));
        let out = soundstage(&[
            "render",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--set",
            "width=0",
            "--set",
            "depth=0",
        ]);
        assert_success(&out);
        let (spec, channels) = read_wav(&output);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48_000, 32)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Float);
        assert_eq!(
            channels[0].len(),
            original[0].len(),
            "same length as the input"
        );
        // Width and depth 0: the input itself, latency compensated.
        assert!(error_db(&channels[0], &original[0]) < -80.0);
        assert!(error_db(&channels[1], &original[1]) < -80.0);
    }
}

#[test]
fn outputs_has_one_channel_per_driver() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 24, false, &stereo());
    for n in ["2", "3", "4"] {
        let output = d.path().join(format!("out{n}.wav"));
        let out = soundstage(&[
            "render",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--preset",
            "soundbar",
            "--outputs",
            n,
        ]);
        assert_success(&out);
        assert_eq!(read_wav(&output).0.channels.to_string(), n);
    }
    let refused = soundstage(&["render", input.to_str().unwrap(), "x.wav", "--outputs", "5"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("5 is not in 2..=4"));
}

#[test]
fn missing_unreadable_and_non_wav_inputs_are_refused() {
    let d = dir();
    let out = d.path().join("out.wav");
    let o = out.to_str().unwrap();
    assert_error(
        &soundstage(&["render", d.path().join("nope.wav").to_str().unwrap(), o]),
        "No such file",
    );
    assert_error(
        &soundstage(&["render", d.path().to_str().unwrap(), o]),
        "cannot read",
    );
    let text = d.path().join("notes.wav");
    std::fs::write(&text, "these are not samples").unwrap();
    assert_error(
        &soundstage(&["render", text.to_str().unwrap(), o]),
        "not a readable WAV, AIFF or FLAC file",
    );
    let empty_file = d.path().join("zero-bytes.wav");
    std::fs::write(&empty_file, b"").unwrap();
    assert_error(
        &soundstage(&["render", empty_file.to_str().unwrap(), o]),
        "not a readable WAV, AIFF or FLAC file",
    );
    let no_samples = d.path().join("no-samples.wav");
    write_wav(&no_samples, 2, 16, false, &[vec![], vec![]]);
    assert_error(
        &soundstage(&["render", no_samples.to_str().unwrap(), o]),
        "contains no audio",
    );
    assert!(!out.exists(), "no output is written when the input is bad");
}

#[test]
fn channel_counts_and_sample_formats_outside_the_supported_set_are_refused() {
    let d = dir();
    let o = d.path().join("out.wav");
    let o = o.to_str().unwrap();
    let mono = d.path().join("mono.wav");
    write_wav(&mono, 1, 16, false, &[noise(3, 1000, 0.1)]);
    assert_error(
        &soundstage(&["render", mono.to_str().unwrap(), o]),
        "1 channel(s); Soundstage processes stereo input (exactly 2 channels)",
    );
    let three = d.path().join("three.wav");
    write_wav(
        &three,
        3,
        16,
        false,
        &[
            noise(3, 1000, 0.1),
            noise(4, 1000, 0.1),
            noise(5, 1000, 0.1),
        ],
    );
    assert_error(
        &soundstage(&["render", three.to_str().unwrap(), o]),
        "3 channel(s)",
    );
    // Header sample rates hound reads but cannot write back: 0 Hz made it divide by zero
    // (a panic, exit 101); rates outside the accepted range are refused by name.
    for rate in [0u32, 7_999, 768_001] {
        let odd = d.path().join(format!("rate-{rate}.wav"));
        write_wav(&odd, 2, 16, false, &stereo());
        let mut bytes = std::fs::read(&odd).unwrap();
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        bytes[28..32].copy_from_slice(&rate.wrapping_mul(4).to_le_bytes());
        std::fs::write(&odd, bytes).unwrap();
        assert_error(
            &soundstage(&["render", odd.to_str().unwrap(), o]),
            &format!("its sample rate is {rate} Hz; Soundstage renders at 8000 to 768000 Hz"),
        );
    }
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let (i, o) = (input.to_str().unwrap(), d.path().join("out.wav"));
    let o = o.to_str().unwrap();
    assert_error(
        &soundstage(&["render", i, o, "--set", "loudness=3"]),
        "unknown parameter id \"loudness\"",
    );
    assert_error(
        &soundstage(&["render", i, o, "--set", "width=140"]),
        "out of range; Width takes 0 % to 100 %",
    );
    assert_error(
        &soundstage(&["render", i, o, "--set", "dist=far"]),
        "expected a number, in m, cm, mm",
    );
    assert_error(
        &soundstage(&["render", i, o, "--set", "width"]),
        "expected ID=VALUE",
    );
    assert_error(
        &soundstage(&["render", i, o, "--set", "mode=surround"]),
        "expected speakers, headphones or binaural",
    );
    assert_error(
        &soundstage(&["render", i, o, "--preset", "cinema"]),
        "unknown preset \"cinema\"",
    );
    assert!(!Path::new(o).exists());
}

#[test]
fn the_input_is_never_overwritten() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let before = std::fs::read(&input).unwrap();
    let i = input.to_str().unwrap();
    assert_error(&soundstage(&["render", i, i]), "it is the input file");
    let dotted: PathBuf = d.path().join(".").join("in.wav");
    assert_error(
        &soundstage(&["render", i, dotted.to_str().unwrap()]),
        "it is the input file",
    );
    let link = d.path().join("link.wav");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    assert_error(
        &soundstage(&["render", i, link.to_str().unwrap()]),
        "it is the input file",
    );
    let hard = d.path().join("hard.wav");
    std::fs::hard_link(&input, &hard).unwrap();
    assert_error(
        &soundstage(&["render", i, hard.to_str().unwrap()]),
        "it is the input file",
    );
    assert_eq!(std::fs::read(&input).unwrap(), before, "input untouched");
}

#[test]
fn unwritable_destinations_fail_cleanly_and_leave_nothing_behind() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let blocker = d.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let inside_a_file = blocker.join("out.wav");
    assert_error(
        &soundstage(&[
            "render",
            input.to_str().unwrap(),
            inside_a_file.to_str().unwrap(),
        ]),
        "cannot write",
    );
    assert_error(
        &soundstage(&["demo", blocker.join("demo").to_str().unwrap()]),
        "cannot write",
    );
    assert_error(
        &soundstage(&["demo", blocker.to_str().unwrap()]),
        "a-file is a file; demo writes its files into a directory",
    );
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the input and the blocker remain: {leftovers:?}"
    );
}

/// Runs the CLI with a cap on the size of any file it writes (`ulimit -f`, in the shell's
/// blocks of 512 or 1024 bytes), so that a write fails part-way, as on a full disk. SIGXFSZ
/// is ignored so that the write returns an error instead of killing the process.
fn soundstage_with_file_limit(blocks: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f {blocks}; trap '' XFSZ; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_soundstage"))
        .args(args)
        .output()
        .expect("the shell runs the CLI")
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_existing_output_is_replaced_only_by_a_complete_file() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let output = d.path().join("out.wav");
    std::fs::write(&output, "previous render").unwrap();
    let args = [input.to_str().unwrap(), output.to_str().unwrap()];
    // The render's 190 kB cannot be written under a 32-64 kB cap: the write fails part-way.
    let failed = soundstage_with_file_limit(64, &["render", args[0], args[1]]);
    assert_error(&failed, "cannot write");
    assert_eq!(
        std::fs::read(&output).unwrap(),
        b"previous render",
        "a failed write must leave the previous output as it was"
    );
    assert_eq!(
        names_in(d.path()),
        ["in.wav", "out.wav"],
        "no partial file is left"
    );
    let ok = soundstage(&["render", args[0], args[1]]);
    assert_success(&ok);
    assert_eq!(read_wav(&output).0.channels, 2);
}

#[test]
fn a_write_that_cannot_be_put_in_place_leaves_nothing_behind() {
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    // An output that is a directory is refused before any work, and left as it was.
    let occupied = d.path().join("out.wav");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), "x").unwrap();
    let run = soundstage(&[
        "render",
        input.to_str().unwrap(),
        occupied.to_str().unwrap(),
    ]);
    assert_error(&run, "out.wav is a directory; give OUT a file name");
    assert_eq!(names_in(d.path()), ["in.wav", "out.wav"]);
    assert_eq!(names_in(&occupied), ["keep"]);
    // A report whose plot cannot be put in place: the plots before it and the metrics stay,
    // no temporary file does.
    let report = d.path().join("report");
    std::fs::create_dir(&report).unwrap();
    let blocked = report.join("cancellation.png");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), "x").unwrap();
    let run = soundstage(&["report", report.to_str().unwrap()]);
    assert_error(&run, "cannot write");
    let hidden: Vec<String> = names_in(&report)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "temporary files left: {hidden:?}");
}

#[test]
fn demo_writes_input_output_and_summary() {
    let d = dir();
    let out = d.path().join("demo");
    let run = soundstage(&["demo", out.to_str().unwrap()]);
    assert_success(&run);
    let (spec_in, input) = read_wav(&out.join("input.wav"));
    let (spec_out, output) = read_wav(&out.join("output.wav"));
    assert_eq!((spec_in.channels, spec_out.channels), (2, 2));
    assert_eq!(input[0].len(), output[0].len());
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    for wanted in [
        "Latency: 1584 samples",
        "Levels",
        "output L",
        "nominal",
        "head +10 %",
    ] {
        assert!(
            summary.contains(wanted),
            "{wanted:?} missing from the summary:\n{summary}"
        );
    }
    assert!(
        error_db(&output[0], &input[0]) > -40.0,
        "the demo output is processed"
    );
    // A mastered level: the output stays a decibel below full scale between the samples too.
    let peak = |x: &[Vec<f32>]| dbfs(x.iter().map(|c| true_peak(c)).fold(0.0, f64::max));
    println!(
        "demo: input {:+.1} dBTP, output {:+.1} dBTP",
        peak(&input),
        peak(&output)
    );
    assert!(peak(&output) < -1.0, "output at {:+.1} dBTP", peak(&output));
}

#[test]
fn params_and_presets_list_everything() {
    let out = soundstage(&["params", "--json"]);
    assert_success(&out);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "width", "depth", "cancel", "spacing", "dist", "vangle", "offset", "yaw", "bassx",
            "boost", "gain", "zone", "mode", "loud", "bypass", "preview", "latency"
        ]
    );
    for p in list.as_array().unwrap() {
        assert!(
            p["name"].is_string()
                && p["default"] != serde_json::Value::Null
                && p["help"].is_string(),
            "{p}"
        );
    }
    let text = String::from_utf8(soundstage(&["params"]).stdout).unwrap();
    assert!(text.contains("cancel") && text.contains("0.0 dB to 30.0 dB"));
    let presets: serde_json::Value =
        serde_json::from_slice(&soundstage(&["presets", "--json"]).stdout).unwrap();
    let names: Vec<&str> = presets
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "studio-monitors",
            "desktop",
            "laptop",
            "smart-speaker",
            "soundbar",
            "headphones"
        ]
    );
}

/// The report's sweet-spot map: 13 × 13 positions; the design that follows the listener
/// keeps within 1.5 dB of the nominal separation for |x| ≤ 20 cm and 0.75 to 1.25 times the
/// distance, where the fixed design has lost at least 3 dB 20 cm off.
fn sweet_spot_holds(name: &str, map: &serde_json::Value, headphones: bool) {
    if headphones {
        assert!(map.is_null(), "{name}: headphones have no sweet spot");
        return;
    }
    let grid = |key: &str| -> Vec<Vec<f64>> {
        map[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    let (fixed, following) = (grid("fixed_db"), grid("following_db"));
    let x_cm: Vec<f64> = map["x_cm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(
        (fixed.len(), fixed[0].len(), x_cm.len()),
        (13, 13, 13),
        "{name}"
    );
    let (nominal_y, nominal_x) = (4, 6);
    let nominal = fixed[nominal_y][nominal_x];
    // At the nominal pose the following design is the fixed one, to the β search's
    // tolerance (it starts from the fixed design's searches and may end closer in).
    assert!(
        (following[nominal_y][nominal_x] - nominal).abs() < 1e-3,
        "{name}: following {:.5} dB, fixed {nominal:.5} dB",
        following[nominal_y][nominal_x]
    );
    for (y, row) in following.iter().enumerate().take(7).skip(2) {
        for (f, cm) in row.iter().zip(&x_cm) {
            if cm.abs() <= 20.0 + 1e-9 {
                assert!(
                    *f > nominal - 1.5,
                    "{name}: following at {cm} cm, row {y}: {f:.1} dB against {nominal:.1}"
                );
            }
        }
    }
    for x in [2, 10] {
        let (f, s) = (following[nominal_y][x], fixed[nominal_y][x]);
        assert!(
            f > s + 3.0,
            "{name}, {} cm: following {f:.1} dB, fixed {s:.1} dB",
            x_cm[x]
        );
    }
}

#[test]
fn report_writes_metrics_and_every_plot_for_each_mode_and_layout() {
    let d = dir();
    let cases: [(&str, &[&str], &str); 4] = [
        ("speakers", &["--preset", "smart-speaker"], "speakers"),
        (
            "binaural",
            &["--preset", "desktop", "--set", "mode=binaural"],
            "binaural",
        ),
        ("headphones", &["--preset", "headphones"], "headphones"),
        (
            "line",
            &["--preset", "soundbar", "--set", "depth=100"],
            "speakers",
        ),
    ];
    for (name, args, mode) in cases {
        let out = d.path().join(name);
        let mut argv = vec!["report", out.to_str().unwrap()];
        argv.extend_from_slice(args);
        let run = soundstage(&argv);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(metrics["settings"]["mode"], mode, "{name}");
        assert_eq!(metrics["latency_samples"], 1584, "{name}");
        assert_eq!(metrics["impulse_delay_samples"], 1584, "{name}");
        let canceller = &metrics["canceller"];
        if mode == "headphones" {
            assert!(canceller.is_null(), "{name}: headphones cancel nothing");
        } else {
            let nominal = canceller["nominal_mean_db"].as_f64().unwrap();
            assert!(nominal >= 18.0, "{name}: {nominal} dB");
            assert!(canceller["perturbed_mean_db"]["head +10 %"].is_f64());
        }
        assert_eq!(
            metrics["beam"]["available"],
            name == "line",
            "{name}: the beam needs a driver line"
        );
        sweet_spot_holds(name, &metrics["sweet_spot"], mode == "headphones");
        for plot in [
            "summary",
            "cancellation",
            "ear_responses",
            "beam_map",
            "beam_polar",
            "virtual_cues",
            "mono_sum",
            "sweet_spot",
        ] {
            let bytes = std::fs::read(out.join(format!("{plot}.png"))).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}/{plot} is a PNG");
            assert!(bytes.len() > 10_000, "{name}/{plot} has content");
        }
    }
}

#[test]
fn renders_binaural_mode_to_a_driver_pair() {
    let d = dir();
    let input = d.path().join("binaural.wav");
    write_wav(&input, 2, 24, false, &stereo());
    let output = d.path().join("out.wav");
    let out = soundstage(&[
        "render",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--preset",
        "laptop",
        "--set",
        "mode=binaural",
    ]);
    assert_success(&out);
    let (spec, channels) = read_wav(&output);
    assert_eq!(spec.channels, 2);
    let (_, original) = read_wav(&input);
    assert_eq!(channels[0].len(), original[0].len());
    assert!(
        error_db(&channels[0], &original[0]) > -30.0,
        "the canceller changes the feeds"
    );
}

#[test]
fn a_measured_head_from_a_sofa_file_designs_renders_and_reports() {
    let d = dir();
    let file = common::sofa::write_synthetic_head(d.path());
    let info = soundstage(&["sofa", file.to_str().unwrap()]);
    assert_success(&info);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("synthetic head") && text.contains("72 directions"),
        "{text}"
    );
    let json = soundstage(&["sofa", file.to_str().unwrap(), "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        value["horizontal_measurements"].as_array().unwrap().len(),
        72
    );

    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let (with, without) = (d.path().join("measured.wav"), d.path().join("sphere.wav"));
    for (out, extra) in [
        (&with, vec!["--sofa", file.to_str().unwrap()]),
        (&without, vec![]),
    ] {
        let mut argv = vec![
            "render",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--preset",
            "laptop",
        ];
        argv.extend(extra);
        let run = soundstage(&argv);
        assert_success(&run);
    }
    let (_, a) = read_wav(&with);
    let (_, b) = read_wav(&without);
    assert!(
        error_db(&a[0], &b[0]) > -40.0,
        "the measured head changes the design"
    );

    let report = d.path().join("report");
    let run = soundstage(&[
        "report",
        report.to_str().unwrap(),
        "--preset",
        "smart-speaker",
        "--sofa",
        file.to_str().unwrap(),
    ]);
    assert_success(&run);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("metrics.json")).unwrap())
            .unwrap();
    assert!(metrics["plant"]
        .as_str()
        .unwrap()
        .contains("synthetic head"));
    let matched = metrics["measured_head"]["matched"]["nominal_db"]
        .as_f64()
        .unwrap();
    let sphere = metrics["measured_head"]["sphere_design"]["nominal_db"]
        .as_f64()
        .unwrap();
    println!("report on the synthetic head: matched {matched:.1} dB, sphere design {sphere:.1} dB");
    assert!(
        matched > sphere,
        "designing for the head beats designing for the sphere on it"
    );
}

#[test]
fn bad_sofa_files_and_uncovered_drivers_are_refused_in_one_line() {
    use common::sofa::{self, Extras, Head};
    let d = dir();
    let input = d.path().join("in.wav");
    write_wav(&input, 2, 16, false, &stereo());
    let output = d.path().join("out.wav");
    let text = d.path().join("notes.sofa");
    std::fs::write(&text, "not a SOFA file").unwrap();
    let rear = d.path().join("rear.sofa");
    let behind: Vec<sofa::Written> = sofa::measurements(Head::Sphere, 15.0)
        .into_iter()
        .filter(|w| (150.0..=210.0).contains(&w.azimuth))
        .collect();
    sofa::write(&rear, "rear", &behind, &Extras::default());
    for (file, needle) in [(&text, "not an HDF5 file"), (&rear, "no directions within")] {
        let out = soundstage(&[
            "render",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--sofa",
            file.to_str().unwrap(),
        ]);
        assert_error(&out, needle);
        assert!(!output.exists(), "nothing is written on an error");
    }
    assert_error(
        &soundstage(&["sofa", text.to_str().unwrap()]),
        "not an HDF5 file",
    );
}

/// `render --poses`: a listener who sits still, jumps 8 cm right, 16 cm back and turns 10°
/// left, then sits still again gets, once each design has faded in, exactly what static
/// renders at the two poses give; bad pose files are refused naming the row.
#[test]
fn a_pose_file_renders_segment_by_segment_as_static_renders_at_its_poses() {
    let d = dir();
    let input = d.path().join("in.wav");
    let frames = 4 * 48_000;
    write_wav(
        &input,
        2,
        32,
        true,
        &[noise(3, frames, 0.2), noise(4, frames, 0.2)],
    );
    let poses = d.path().join("poses.csv");
    std::fs::write(
        &poses,
        "time_s,x_m,y_m,yaw_deg\n0,0,1.039,0\n1.5,0,1.039,0\n1.51,0.08,1.2,10\n4,0.08,1.2,10\n",
    )
    .unwrap();
    let render = |name: &str, extra: &[&str]| {
        let output = d.path().join(name);
        let mut args = vec!["render", input.to_str().unwrap(), output.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = soundstage(&args);
        assert_success(&out);
        (
            read_wav(&output).1,
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (moving, said) = render("moving.wav", &["--poses", poses.to_str().unwrap()]);
    assert!(
        said.contains("following the listener (2 poses designed)"),
        "{said}"
    );
    let (first, _) = render("first.wav", &[]);
    let (second, _) = render(
        "second.wav",
        &["--set", "offset=8", "--set", "dist=1.2", "--set", "yaw=10"],
    );
    // Before the move (output lines up with input, so a design installed while the block at
    // 1.51 s is processed is heard a latency earlier), and from 0.5 s after it (it fades in
    // within tens of milliseconds).
    let segments = [(&first, 0, 60_000), (&second, 96_000, frames)];
    for (reference, from, to) in segments {
        for c in 0..2 {
            let e = error_db(&moving[c][from..to], &reference[c][from..to]);
            assert!(e < -100.0, "channel {c}, samples {from}..{to}: {e:.1} dB");
        }
    }
    let moved = error_db(&first[0][96_000..], &second[0][96_000..]);
    assert!(moved > -30.0, "the two poses render alike: {moved:.1} dB");
    let bad = d.path().join("bad.csv");
    std::fs::write(&bad, "time_s,x_m,y_m,yaw_deg\n0,0,1,0\n1,0,1,60\n").unwrap();
    let out = d.path().join("never.wav");
    let refused = soundstage(&[
        "render",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--poses",
        bad.to_str().unwrap(),
    ]);
    assert_error(
        &refused,
        "bad.csv: row 3: yaw_deg = 60 is outside -45 to 45",
    );
    assert!(!out.exists(), "nothing is written for a bad pose file");
}
