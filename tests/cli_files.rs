//! The files `soundstage render` writes play right and its words are true: the channel mask
//! matches the drivers' order, integer formats are dithered, the true peak is reported and a
//! clipping output is warned about, every supported input coding reads alike, and each error
//! names the problem in the user's terms.

mod common;

use common::cli::{
    assert_error, assert_success, dir, read_wav, soundstage, stereo, stereo_wav, write_wav,
};
use common::noise;
use soundstage::offline::levels::{dbfs, integrated_loudness, true_peak};
use std::path::Path;
use std::process::{Command, Stdio};

/// `wFormatTag` and, for `WAVE_FORMAT_EXTENSIBLE`, `dwChannelMask` of a written WAV file.
fn format_tag_and_mask(path: &Path) -> (u16, Option<u32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[12..16], b"fmt ", "the fmt chunk comes first");
    let tag = u16::from_le_bytes([bytes[20], bytes[21]]);
    let mask = (tag == 0xFFFE).then(|| u32::from_le_bytes(bytes[40..44].try_into().unwrap()));
    (tag, mask)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Renders `input` into `name` in `dir` with `extra` arguments, expecting success.
fn render(
    dir: &Path,
    input: &Path,
    name: &str,
    extra: &[&str],
) -> (std::process::Output, Vec<Vec<f32>>) {
    let output = dir.join(name);
    let mut args = vec!["render", input.to_str().unwrap(), output.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = soundstage(&args);
    assert_success(&out);
    let channels = read_wav(&output).1;
    (out, channels)
}

#[test]
fn every_output_carries_the_mask_of_its_driver_line_with_the_centre_second() {
    let d = dir();
    let input = d.path().join("centre.wav");
    // A centre-only input: the same signal on both sides.
    let centre = noise(7, 24_000, 0.2);
    write_wav(&input, 2, 24, false, &[centre.clone(), centre]);
    for (outputs, format, tag, mask, order) in [
        ("2", "f32", 0xFFFE, Some(0x3), "L, R"),
        ("2", "s24", 0xFFFE, Some(0x3), "L, R"),
        ("2", "s16", 1, None, "L, R"),
        ("3", "f32", 0xFFFE, Some(0), "L, C, R"),
        ("3", "s16", 0xFFFE, Some(0), "L, C, R"),
        ("4", "s24", 0xFFFE, Some(0), "L, inner L, inner R, R"),
    ] {
        let name = format!("out-{outputs}-{format}.wav");
        let (out, channels) = render(
            d.path(),
            &input,
            &name,
            &[
                "--preset",
                "soundbar",
                "--outputs",
                outputs,
                "--format",
                format,
            ],
        );
        let written = format_tag_and_mask(&d.path().join(&name));
        println!(
            "{outputs} drivers, {format}: tag {:#x}, mask {:?}",
            written.0, written.1
        );
        assert_eq!(written, (tag, mask), "{outputs} drivers, {format}");
        let said = stdout(&out);
        assert!(
            said.contains(&format!("in line order, leftmost first: {order} (")),
            "{said}"
        );
        if outputs == "3" {
            let rms: Vec<f64> = channels
                .iter()
                .map(|c| {
                    (c.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / c.len() as f64).sqrt()
                })
                .collect();
            println!("centre-only input, channel levels {rms:?}");
            assert!(
                rms[1] > 2.0 * rms[0] && rms[1] > 2.0 * rms[2],
                "the centre driver is the second channel: {rms:?}"
            );
            assert!(
                said.contains("channel mask none: no standard speaker layout"),
                "{said}"
            );
        }
    }
}

#[test]
fn integer_outputs_are_tpdf_dithered_to_half_an_lsb_of_noise() {
    let d = dir();
    let input = stereo_wav(d.path(), "in.wav", 24);
    let (_, float) = render(d.path(), &input, "f32.wav", &[]);
    for (format, bits) in [("s16", 16), ("s24", 24)] {
        let name = format!("{format}.wav");
        let (_, integer) = render(d.path(), &input, &name, &["--format", format]);
        let spec = read_wav(&d.path().join(&name)).0;
        assert_eq!(
            (spec.bits_per_sample, spec.sample_format),
            (bits, hound::SampleFormat::Int)
        );
        let lsb = 1.0 / f64::from(1u32 << (bits - 1));
        let (sum, count) = integer
            .iter()
            .zip(&float)
            .flat_map(|(a, b)| a.iter().zip(b))
            .fold((0.0, 0usize), |(s, n), (a, b)| {
                (s + ((f64::from(*a) - f64::from(*b)) / lsb).powi(2), n + 1)
            });
        let noise_lsb = (sum / count as f64).sqrt();
        println!("{format}: error against the float render {noise_lsb:.3} LSB RMS");
        // Rounding alone leaves 0.29 LSB; with TPDF dither of ±1 LSB it is 0.5 LSB.
        assert!(
            (0.45..0.55).contains(&noise_lsb),
            "{format}: {noise_lsb:.3} LSB RMS"
        );
    }
}

/// The true peak `render` printed, dBTP.
fn printed_peak(said: &str) -> f64 {
    let at = said.find("true peak ").expect("the true peak is printed") + "true peak ".len();
    said[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_true_peak_is_reported_and_a_hot_output_is_warned_with_the_gain_that_fixes_it() {
    let d = dir();
    let input = d.path().join("hot.wav");
    // A 3 kHz tone hard left, its samples peaking at -0.1 dBFS: the laptop preset's
    // cancellation raises it above full scale.
    let tone = common::sine(3000.0, 48_000.0, 24_000, 10f32.powf(-0.1 / 20.0));
    let hot = vec![tone.clone(), vec![0.0; tone.len()]];
    write_wav(&input, 2, 32, true, &hot);
    let (out, channels) = render(d.path(), &input, "loud.wav", &["--preset", "laptop"]);
    let said = printed_peak(&stdout(&out));
    let measured = dbfs(channels.iter().map(|c| true_peak(c)).fold(0.0, f64::max));
    println!("laptop preset, 3 kHz hard left at -0.1 dBFS: printed {said:+.1} dBTP, read back {measured:+.2} dBTP");
    assert!((said - measured).abs() <= 0.05, "{said} against {measured}");
    assert!(
        said > 0.0,
        "the laptop preset raises this input above full scale"
    );
    let warning = stderr(&out);
    assert!(
        warning.contains(&format!(
            "peaks at {said:+.1} dBTP and clips in players: lower the input by "
        )),
        "{warning}"
    );
    // The gain the warning names (rounded up) is enough.
    let named: f32 = warning
        .split("lower the input by ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the warning names a gain");
    assert!(
        f64::from(named) >= measured,
        "{named} dB for a peak of {measured:+.2} dBTP"
    );
    let lowered = d.path().join("lowered.wav");
    let gain = 10f32.powf(-named / 20.0);
    let quieter: Vec<Vec<f32>> = hot
        .iter()
        .map(|c| c.iter().map(|v| v * gain).collect())
        .collect();
    write_wav(&lowered, 2, 32, true, &quieter);
    let (out, _) = render(d.path(), &lowered, "fixed.wav", &["--preset", "laptop"]);
    println!(
        "lowered by the printed gain: {:+.2} dBTP",
        printed_peak(&stdout(&out))
    );
    assert!(
        printed_peak(&stdout(&out)) <= 0.0 && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );
    // --normalize brings it to -1 dBTP, with nothing to warn.
    let (out, channels) = render(
        d.path(),
        &input,
        "normalized.wav",
        &["--preset", "laptop", "--normalize"],
    );
    let normalized = dbfs(channels.iter().map(|c| true_peak(c)).fold(0.0, f64::max));
    println!("--normalize: {normalized:+.3} dBTP");
    assert!((normalized + 1.0).abs() < 0.01, "{normalized}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // A 16-bit output of the hot render clips, and says how many samples.
    let (out, _) = render(
        d.path(),
        &input,
        "clipped.wav",
        &["--preset", "laptop", "--format", "s16"],
    );
    assert!(
        stderr(&out).contains("samples of")
            && stderr(&out).contains("were clipped at full scale (16-bit integer, dithered)"),
        "{}",
        stderr(&out)
    );
}

/// Writes 16-bit big-endian AIFF (the container symphonia reads as an independent path).
fn write_aiff(path: &Path, channels: &[Vec<f32>], sample_rate: u32) {
    let frames = channels[0].len() as u32;
    let mut data = Vec::new();
    for i in 0..frames as usize {
        for c in channels {
            let v = (c[i] * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            data.extend_from_slice(&v.to_be_bytes());
        }
    }
    // The rate as an 80-bit extended float: exponent and a 64-bit mantissa.
    let exponent = 31 - sample_rate.leading_zeros();
    let mantissa = u64::from(sample_rate) << (63 - exponent);
    let mut comm = Vec::new();
    comm.extend_from_slice(&(channels.len() as u16).to_be_bytes());
    comm.extend_from_slice(&frames.to_be_bytes());
    comm.extend_from_slice(&16u16.to_be_bytes());
    comm.extend_from_slice(&((16383 + exponent) as u16).to_be_bytes());
    comm.extend_from_slice(&mantissa.to_be_bytes());
    let mut form = b"AIFF".to_vec();
    form.extend_from_slice(b"COMM");
    form.extend_from_slice(&(comm.len() as u32).to_be_bytes());
    form.extend_from_slice(&comm);
    form.extend_from_slice(b"SSND");
    form.extend_from_slice(&(data.len() as u32 + 8).to_be_bytes());
    form.extend_from_slice(&[0; 8]);
    form.extend_from_slice(&data);
    let mut file = b"FORM".to_vec();
    file.extend_from_slice(&(form.len() as u32).to_be_bytes());
    file.extend_from_slice(&form);
    std::fs::write(path, file).unwrap();
}

/// Writes a WAV file of 64-bit floats (hound writes none).
fn write_f64_wav(path: &Path, channels: &[Vec<f32>]) {
    let frames = channels[0].len();
    let mut data = Vec::new();
    for i in 0..frames {
        for c in channels {
            data.extend_from_slice(&f64::from(c[i]).to_le_bytes());
        }
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes());
    file.extend_from_slice(&3u16.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&48_000u32.to_le_bytes());
    file.extend_from_slice(&(48_000u32 * 16).to_le_bytes());
    file.extend_from_slice(&16u16.to_le_bytes());
    file.extend_from_slice(&64u16.to_le_bytes());
    file.extend_from_slice(b"data");
    file.extend_from_slice(&(data.len() as u32).to_le_bytes());
    file.extend_from_slice(&data);
    std::fs::write(path, file).unwrap();
}

#[test]
fn every_supported_input_coding_reads_to_the_same_samples_and_says_what_it_read() {
    let d = dir();
    // Samples a 16-bit file holds exactly (halved: the noise's rare peaks reach full
    // scale), so that every coding holds the same values.
    let exact: Vec<Vec<f32>> = stereo()
        .iter()
        .map(|c| {
            c.iter()
                .map(|v| (v * 0.5 * 32768.0).round() / 32768.0)
                .collect()
        })
        .collect();
    let wav = |name: &str, bits: u16, float: bool| {
        let path = d.path().join(name);
        write_wav(&path, 2, bits, float, &exact);
        path
    };
    let inputs = [
        (wav("s16.wav", 16, false), "PCM Signed 16-bit Little-Endian"),
        (wav("s24.wav", 24, false), "PCM Signed 24-bit Little-Endian"),
        (wav("s32.wav", 32, false), "PCM Signed 32-bit Little-Endian"),
        (
            wav("f32.wav", 32, true),
            "PCM 32-bit Little-Endian Floating Point",
        ),
        (
            {
                let path = d.path().join("f64.wav");
                write_f64_wav(&path, &exact);
                path
            },
            "PCM 64-bit Little-Endian Floating Point",
        ),
        (
            {
                let path = d.path().join("s16.aiff");
                write_aiff(&path, &exact, 48_000);
                path
            },
            "Audio Interchange File Format, PCM Signed 16-bit Big-Endian",
        ),
    ];
    let mut reference: Option<Vec<Vec<f32>>> = None;
    for (path, coding) in &inputs {
        let name = format!("out-{}.wav", path.file_name().unwrap().to_string_lossy());
        let (out, channels) = render(d.path(), path, &name, &[]);
        let said = stdout(&out);
        assert!(said.contains("read as ") && said.contains(coding), "{said}");
        match &reference {
            None => reference = Some(channels),
            Some(r) => assert_eq!(
                &channels,
                r,
                "{} renders as the 16-bit WAV does",
                path.display()
            ),
        }
    }
    // 8-bit WAV (unsigned) is read too, within its resolution.
    let eight = wav("u8.wav", 8, false);
    let (_, channels) = render(d.path(), &eight, "out-u8.wav", &[]);
    let e = common::error_db(&channels[0], &reference.unwrap()[0]);
    println!("8-bit input against the 16-bit one: {e:.1} dB");
    assert!(e < -30.0, "{e:.1} dB");
}

#[test]
fn output_paths_that_cannot_be_the_wav_file_asked_for_are_refused_before_any_work() {
    let d = dir();
    let input = stereo_wav(d.path(), "in.wav", 16);
    let i = input.to_str().unwrap();
    let mp3 = d.path().join("o.mp3");
    assert_error(
        &soundstage(&["render", i, mp3.to_str().unwrap()]),
        "o.mp3: Soundstage writes WAV files; give OUT a name ending in .wav",
    );
    assert!(!mp3.exists());
    let sub = d.path().join("r");
    std::fs::create_dir(&sub).unwrap();
    assert_error(
        &soundstage(&["render", i, &format!("{}/", sub.display())]),
        "r/ is a directory; give OUT a file name, e.g. ",
    );
    let upper = d.path().join("LOUD.WAV");
    assert_success(&soundstage(&["render", i, upper.to_str().unwrap()]));
    assert_error(
        &soundstage(&["report", i]),
        "in.wav is a file; report writes its files into a directory",
    );
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    let d = dir();
    let file = common::sofa::write_synthetic_head(d.path());
    for args in [
        vec!["params"],
        vec!["params", "--json"],
        vec!["presets"],
        vec!["sofa", file.to_str().unwrap(), "--json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_soundstage"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes: its first write meets a closed
        // pipe, as after `| head -1`.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        println!(
            "{args:?} into a closed pipe: {:?}, stderr {:?}",
            out.status,
            stderr(&out)
        );
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn names_values_and_units_follow_one_rule_everywhere() {
    let d = dir();
    let input = stereo_wav(d.path(), "in.wav", 16);
    // Preset names, ids and values regardless of case; lengths in any unit of length.
    let (plain, a) = render(
        d.path(),
        &input,
        "a.wav",
        &[
            "--preset",
            "desktop",
            "--set",
            "dist=0.8",
            "--set",
            "mode=speakers",
        ],
    );
    let (_, b) = render(
        d.path(),
        &input,
        "b.wav",
        &[
            "--preset",
            "Desktop",
            "--set",
            "DIST=80cm",
            "--set",
            "mode=Speakers",
        ],
    );
    assert_eq!(a, b, "the same settings written two ways render alike");
    // The effective settings are printed in the form --set takes.
    let said = stdout(&plain);
    assert!(
        said.contains(
            "settings (preset desktop, --set dist=0.8, --set mode=speakers): mode=speakers width="
        ) && said.contains(" dist=0.80m "),
        "{said}"
    );
    // params --preset shows the preset's values.
    let laptop = stdout(&soundstage(&["params", "--preset", "laptop"]));
    let spacing = laptop.lines().find(|l| l.starts_with("spacing")).unwrap();
    assert!(spacing.contains("30.0 cm"), "{spacing}");
    let json: serde_json::Value =
        serde_json::from_slice(&soundstage(&["params", "--json", "--preset", "laptop"]).stdout)
            .unwrap();
    let spacing = json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "spacing")
        .unwrap();
    assert_eq!(spacing["preset"].as_f64(), Some(30.0));
    assert_eq!(
        spacing["default"].as_f64(),
        Some(120.0),
        "default keeps meaning the default"
    );
    // A unit of another quantity is refused.
    assert_error(
        &soundstage(&[
            "render",
            input.to_str().unwrap(),
            "x.wav",
            "--set",
            "dist=80Hz",
        ]),
        "dist=80Hz: expected a number, in m, cm, mm",
    );
}

#[test]
fn a_spacing_too_wide_for_a_beam_says_so_and_from_what_spacing_one_works() {
    let d = dir();
    let out = soundstage(&[
        "report",
        d.path().join("r").to_str().unwrap(),
        "--outputs",
        "3",
    ]);
    assert_success(&out);
    let said = stdout(&out);
    println!("{said}");
    assert!(!said.contains("centre beam 143 Hz-143 Hz"), "{said}");
    assert!(
        said.contains("no centre beam: drivers 120 cm apart alias from 143 Hz")
            && said.contains(
                "a beam needs a spacing under 40.8 cm (for an octave of band: at most 20.4 cm)"
            ),
        "{said}"
    );
    let works = soundstage(&[
        "report",
        d.path().join("r2").to_str().unwrap(),
        "--outputs",
        "3",
        "--set",
        "spacing=20cm",
    ]);
    let said = stdout(&works);
    assert!(
        said.contains("centre beam ") && !said.contains("no centre beam"),
        "{said}"
    );
    // The soundbar preset's 30 cm line has a beam, over less than an octave, and says so.
    let narrow = stdout(&soundstage(&[
        "report",
        d.path().join("r3").to_str().unwrap(),
        "--preset",
        "soundbar",
    ]));
    assert!(
        narrow.contains("centre beam 450 Hz-572 Hz")
            && narrow.contains("the centre beam covers only 450 Hz-572 Hz, less than an octave")
            && narrow.contains("a spacing of at most 19.1 cm"),
        "{narrow}"
    );
}

#[test]
fn a_rate_whose_band_stops_below_the_working_band_is_warned_about() {
    let d = dir();
    for (rate, warned) in [(8_000u32, true), (16_000, false), (48_000, false)] {
        let path = d.path().join(format!("in-{rate}.wav"));
        write_wav(&path, 2, 16, false, &stereo());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        bytes[28..32].copy_from_slice(&(rate * 4).to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        let (out, _) = render(d.path(), &path, &format!("out-{rate}.wav"), &[]);
        let words = stderr(&out);
        assert_eq!(
            words.contains(&format!(
                "warning: {} is sampled at {rate} Hz, so it holds nothing above",
                path.display()
            )),
            warned,
            "{rate} Hz: {words}"
        );
    }
}

#[test]
fn normalize_loudness_brings_the_output_to_the_inputs_integrated_loudness() {
    let d = dir();
    let input = stereo_wav(d.path(), "in.wav", 24);
    let (_, original) = common::cli::read_wav(&input);
    let lufs = |x: &[Vec<f32>]| {
        integrated_loudness(&x.iter().map(Vec::as_slice).collect::<Vec<_>>(), 48_000.0).unwrap()
    };
    let wanted = lufs(&original);
    let (plain_run, plain) = render(d.path(), &input, "plain.wav", &["--preset", "laptop"]);
    let (run, matched) = render(
        d.path(),
        &input,
        "matched.wav",
        &["--preset", "laptop", "--normalize", "loudness"],
    );
    let (before, after) = (lufs(&plain), lufs(&matched));
    println!("input {wanted:.2} LUFS; rendered {before:.2} LUFS; normalized {after:.2} LUFS");
    assert!(
        (before - wanted).abs() > 0.3,
        "the render changes the loudness: {before:.2}"
    );
    assert!(
        (after - wanted).abs() < 0.05,
        "{after:.2} against {wanted:.2} LUFS"
    );
    let said = stdout(&run);
    assert!(
        said.contains(&format!(
            "loudness {after:.1} LUFS (input {wanted:.1} LUFS), normalized by"
        )),
        "{said}"
    );
    assert!(stdout(&plain_run).contains(&format!("loudness {before:.1} LUFS")));
}

#[test]
fn every_commands_help_gives_its_examples_defaults_order_and_units() {
    for command in ["render", "report", "demo", "params", "presets", "sofa"] {
        let help = stdout(&soundstage(&[command, "--help"]));
        assert!(
            help.contains("Example"),
            "{command} --help has examples:\n{help}"
        );
    }
    let render = stdout(&soundstage(&["render", "--help"]));
    for wanted in [
        "[default: f32]",
        "[default: studio-monitors]",
        "leftmost",
        "3 (L, C, R)",
        "dist=120cm",
        "AIFF or FLAC",
        "--normalize",
    ] {
        assert!(
            render.contains(wanted),
            "{wanted:?} missing from render --help:\n{render}"
        );
    }
}

#[test]
fn a_known_container_in_an_unknown_coding_an_empty_file_and_text_are_told_apart() {
    let d = dir();
    let out = d.path().join("out.wav");
    let o = out.to_str().unwrap();
    // A WAV header declaring MPEG layer 3 data (format tag 0x55).
    let mut mp3_in_wav = b"RIFF".to_vec();
    mp3_in_wav.extend_from_slice(&(36u32 + 400).to_le_bytes());
    mp3_in_wav.extend_from_slice(b"WAVEfmt ");
    mp3_in_wav.extend_from_slice(&16u32.to_le_bytes());
    for field in [0x55u16, 2] {
        mp3_in_wav.extend_from_slice(&field.to_le_bytes());
    }
    mp3_in_wav.extend_from_slice(&48_000u32.to_le_bytes());
    mp3_in_wav.extend_from_slice(&16_000u32.to_le_bytes());
    for field in [1u16, 0] {
        mp3_in_wav.extend_from_slice(&field.to_le_bytes());
    }
    mp3_in_wav.extend_from_slice(b"data");
    mp3_in_wav.extend_from_slice(&400u32.to_le_bytes());
    mp3_in_wav.extend_from_slice(&[0; 400]);
    let cases = [
        (
            "mp3.wav",
            mp3_in_wav,
            "is not supported; use PCM WAV or AIFF",
        ),
        (
            "empty.wav",
            Vec::new(),
            "is not a readable WAV, AIFF or FLAC file (the file is empty)",
        ),
        (
            "text.wav",
            b"these are not samples".to_vec(),
            "(its contents are none of these formats)",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = d.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let refused = soundstage(&["render", path.to_str().unwrap(), o]);
        println!("{name}: {}", stderr(&refused).trim());
        assert_error(&refused, expected);
    }
    assert!(!out.exists());
}

#[test]
fn metrics_json_names_every_settings_unit_and_speaks_percent_as_the_command_line_does() {
    let d = dir();
    let out = d.path().join("r");
    let run = soundstage(&[
        "report",
        out.to_str().unwrap(),
        "--set",
        "width=60%",
        "--set",
        "depth=25",
    ]);
    assert_success(&run);
    assert!(
        stderr(&run).is_empty(),
        "results go to standard output: {}",
        stderr(&run)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let settings = metrics["settings"].as_object().unwrap();
    assert_eq!(settings["width_percent"].as_f64(), Some(60.0));
    assert_eq!(settings["depth_percent"].as_f64(), Some(25.0));
    for key in settings.keys() {
        let unit = ["_percent", "_db", "_m", "_hz", "_deg"]
            .iter()
            .any(|u| key.ends_with(u));
        assert!(
            unit || ["mode", "outputs"].contains(&key.as_str()),
            "{key} names no unit"
        );
    }
}
