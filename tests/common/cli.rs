//! Running the `soundstage` command as users do, and the WAV files it reads and writes.

use super::noise;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the command with `args`.
pub fn soundstage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soundstage"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

/// A temporary directory for a test's files.
pub fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Writes a WAV file with hound: `bits`-bit integer or 32-bit float, one `Vec` per channel.
pub fn write_wav(path: &Path, channels: u16, bits: u16, float: bool, frames: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 48_000,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let len = frames.first().map_or(0, Vec::len);
    for i in 0..len {
        for ch in frames {
            if float {
                w.write_sample(ch[i]).unwrap();
            } else {
                // Full scale is 2^(bits - 1), as readers divide by it.
                let full = (1i64 << (bits - 1)) as f32;
                let v = (ch[i] * full).round().clamp(-full, full - 1.0) as i32;
                match bits {
                    8 => w.write_sample(v as i8).unwrap(),
                    16 => w.write_sample(v as i16).unwrap(),
                    _ => w.write_sample(v).unwrap(),
                }
            }
        }
    }
    w.finalize().unwrap();
}

/// Reads a WAV file with hound: its spec and one `Vec` per channel, integers scaled to ±1.
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let ch = spec.channels as usize;
    let channels = (0..ch)
        .map(|c| samples.iter().skip(c).step_by(ch).copied().collect())
        .collect();
    (spec, channels)
}

/// Half a second of seeded stereo noise at 48 kHz.
pub fn stereo() -> Vec<Vec<f32>> {
    vec![noise(1, 24_000, 0.2), noise(2, 24_000, 0.2)]
}

/// Asserts a failure with exactly one line on stderr containing `needle`.
pub fn assert_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
}

/// Fails with the command's own error message when it did not succeed.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "expected success; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes [`stereo`] as a `bits`-bit integer WAV file named `name` in `dir`.
pub fn stereo_wav(dir: &Path, name: &str, bits: u16) -> std::path::PathBuf {
    let path = dir.join(name);
    write_wav(&path, 2, bits, false, &stereo());
    path
}
