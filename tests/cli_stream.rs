//! `soundstage render` streams: a two-hour render's peak memory is independent of its length.
//! In a file of its own, so that the only child process whose peak memory it reads is the
//! render it starts.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// The render's allowed peak resident memory, bytes (issue "Speed and latency").
const MAX_RENDER_RSS_BYTES: u64 = 64 * 1024 * 1024;

/// Writes a 16-bit stereo WAV file of `seconds` at 48 kHz that is silence (a sparse file,
/// taking no disk) except for a second of noise at the start of every minute; returns the
/// frames.
fn sparse_mix(path: &Path, seconds: u64) -> u64 {
    let rate = 48_000u64;
    let frames = seconds * rate;
    let data_bytes = u32::try_from(frames * 4).expect("fits a WAV file");
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let mut header = Vec::new();
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&(rate as u32).to_le_bytes());
    header.extend_from_slice(&(rate as u32 * 4).to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_bytes.to_le_bytes());
    file.write_all(&header).unwrap();
    file.set_len(header.len() as u64 + u64::from(data_bytes))
        .unwrap();
    let noise = common::noise(7, rate as usize * 2, 0.1);
    let burst: Vec<u8> = noise
        .iter()
        .flat_map(|v| ((v * 32_767.0) as i16).to_le_bytes())
        .collect();
    for minute in 0..seconds / 60 {
        file.seek(SeekFrom::Start(
            header.len() as u64 + minute * 60 * rate * 4,
        ))
        .unwrap();
        file.write_all(&burst).unwrap();
    }
    frames
}

/// The largest resident memory of any child process waited for so far, bytes.
fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given, which is large enough.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: filled by the successful call above. Linux reports kilobytes.
    let kilobytes = unsafe { usage.assume_init() }.ru_maxrss;
    u64::try_from(kilobytes).unwrap() * 1024
}

#[test]
fn a_two_hour_render_stays_within_64_mb_of_memory() {
    let dir = common::cli::dir();
    let (input, output) = (dir.path().join("two-hours.wav"), dir.path().join("out.wav"));
    let frames = sparse_mix(&input, 2 * 3600);
    let run = common::cli::soundstage(&[
        "render",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--format",
        "s16",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let peak = children_peak_rss();
    let summary = String::from_utf8_lossy(&run.stdout);
    println!(
        "two hours at 48 kHz rendered with a peak resident memory of {:.1} MB",
        peak as f64 / 1e6
    );
    assert!(
        summary.contains(&format!("{frames} frames")),
        "the whole file is rendered: {summary}"
    );
    assert_eq!(
        std::fs::metadata(&output).unwrap().len(),
        44 + frames * 4,
        "two 16-bit channels of every frame, after a plain header"
    );
    assert!(
        peak <= MAX_RENDER_RSS_BYTES,
        "peak resident memory {:.1} MB",
        peak as f64 / 1e6
    );
}

#[test]
fn a_streamed_render_is_the_whole_file_render_to_the_bit() {
    use soundstage::design::config::presets::{self, DEFAULT_PRESET};
    use soundstage::design::config::settings::Settings;
    use soundstage::design::model::plant::SphereHead;
    use soundstage::offline::render::{engine_for, stream};
    // Three chunks and a part of one, so that the chunks' edges and the flush are crossed.
    let frames = 3 * 65_536 + 12_345;
    let left = common::noise(1, frames, 0.2);
    let right = common::noise(2, frames, 0.2);
    let dir = common::cli::dir();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
    common::cli::write_wav(&input, 2, 32, true, &[left.clone(), right.clone()]);
    let run =
        common::cli::soundstage(&["render", input.to_str().unwrap(), output.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (_, streamed) = common::cli::read_wav(&output);
    let settings = presets::find(DEFAULT_PRESET)
        .unwrap()
        .apply(&Settings::default());
    let (mut engine, _) = engine_for(&settings, 2, 48_000.0, &SphereHead::default());
    let whole = stream(&mut engine, &left, &right, &[1024], |_| {});
    assert_eq!(streamed.len(), 2);
    for (s, w) in streamed.iter().zip(&whole) {
        assert_eq!(s.len(), frames);
        let differing = s
            .iter()
            .zip(w)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(
            differing, 0,
            "{differing} samples differ from the whole-file render"
        );
    }
}
