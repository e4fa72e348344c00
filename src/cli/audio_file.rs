//! Audio in and out. Reading (WAV, AIFF, FLAC) checks everything before any work starts (see
//! [`soundstage::offline::audio_in`]); writing (WAV) is atomic, as every file the tools write
//! is (see [`soundstage::files`]).

use super::CliError;
use hound::{SampleFormat, WavSpec, WavWriter};
use rand::{RngExt, SeedableRng};
use soundstage::files::{self, set_channel_mask, WriteError};
use soundstage::offline::audio_in::{max_wav_frames, InputError, StereoReader};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Opens a stereo WAV, AIFF or FLAC file to be read a chunk at a time, no longer than a WAV
/// file of `outputs` channels in `format` holds, or says in the user's words why it cannot.
pub fn open_stereo(
    path: &Path,
    outputs: usize,
    format: OutputFormat,
) -> Result<StereoReader, CliError> {
    let read = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    // A directory opens, and then reads as nothing the probe knows: say what it is.
    if path.is_dir() {
        return Err(read(std::io::ErrorKind::IsADirectory.into()));
    }
    let file = File::open(path).map_err(read)?;
    let extension = path.extension().and_then(|e| e.to_str());
    StereoReader::open(
        Box::new(file),
        extension,
        max_wav_frames(outputs, format.bytes()),
    )
    .map_err(|e| input_error(path, outputs, format, e))
}

/// Why `path` cannot be read, in the user's words (`outputs` and `format` say what the
/// output that limits its length is).
pub fn input_error(path: &Path, outputs: usize, format: OutputFormat, e: InputError) -> CliError {
    let path = path.to_path_buf();
    match e {
        InputError::NotAudio(reason) => CliError::NotAudio { path, reason },
        InputError::SampleFormat(coding) => CliError::SampleFormat { path, coding },
        InputError::Channels(channels) => CliError::Channels { path, channels },
        InputError::SampleRate(rate) => CliError::SampleRate { path, rate },
        InputError::Empty => CliError::Empty { path },
        InputError::TooLong(limit, rate) => CliError::TooLong {
            path,
            limit,
            hours: limit as f64 / f64::from(rate) / 3600.0,
            outputs,
            format: format.describe(),
        },
    }
}

/// Writes `path` atomically (see [`files::write_atomically`]), a failure of the system
/// said as [`CliError::Write`].
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let io = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    files::write_atomically(path, io, write)
}

/// The sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// 16-bit integer, TPDF-dithered.
    S16,
    /// 24-bit integer, TPDF-dithered.
    S24,
    /// 32-bit float (levels above full scale survive).
    F32,
}

impl OutputFormat {
    /// Bytes of one sample.
    pub fn bytes(self) -> usize {
        match self {
            Self::S16 => 2,
            Self::S24 => 3,
            Self::F32 => 4,
        }
    }

    /// How the format is named to the user.
    pub fn describe(self) -> &'static str {
        match self {
            Self::S16 => "16-bit integer, dithered",
            Self::S24 => "24-bit integer, dithered",
            Self::F32 => "32-bit float",
        }
    }
}

/// Seed of the dither noise: the same input renders to the same file.
const DITHER_SEED: u64 = 0x5EED_D17E;

/// What a [`WavEncoder`] wrote, once its header is complete ([`Finished::mark`]).
pub struct Written {
    /// Samples clipped at full scale (integer formats).
    pub clipped: u64,
    /// The speaker mask in the header: `None` where the header is plain PCM (16-bit stereo,
    /// which hound writes without `WAVE_FORMAT_EXTENSIBLE`; a player takes it as L, R).
    pub mask: Option<u32>,
}

/// A hound error in the user's words.
pub fn encode_error(path: &Path, e: hound::Error) -> CliError {
    WriteError::of_wav(path, e).into()
}

/// A WAV file written a chunk at a time, in `format`: integer formats TPDF-dithered (one
/// noise sequence over the whole file, so that a file is the same however it is cut).
pub struct WavEncoder<'f> {
    writer: WavWriter<BufWriter<&'f mut File>>,
    format: OutputFormat,
    channels: usize,
    rng: rand::rngs::StdRng,
    full_scale: f64,
    clipped: u64,
}

impl<'f> WavEncoder<'f> {
    /// Starts a file of `channels` driver feeds at `sample_rate` in `file`.
    pub fn new(
        file: &'f mut File,
        sample_rate: u32,
        channels: usize,
        format: OutputFormat,
    ) -> Result<Self, hound::Error> {
        let (bits_per_sample, sample_format) = match format {
            OutputFormat::S16 => (16, SampleFormat::Int),
            OutputFormat::S24 => (24, SampleFormat::Int),
            OutputFormat::F32 => (32, SampleFormat::Float),
        };
        let spec = WavSpec {
            channels: u16::try_from(channels).expect("at most four driver feeds"),
            sample_rate,
            bits_per_sample,
            sample_format,
        };
        Ok(Self {
            writer: WavWriter::new(BufWriter::new(file), spec)?,
            format,
            channels,
            rng: rand::rngs::StdRng::seed_from_u64(DITHER_SEED),
            full_scale: f64::from(1u32 << (bits_per_sample - 1)),
            clipped: 0,
        })
    }

    /// Appends `channels` (all the same length), each sample scaled by `gain` first.
    pub fn write(&mut self, channels: &[Vec<f32>], gain: f64) -> Result<(), hound::Error> {
        let len = channels.first().map_or(0, Vec::len);
        let scaled = |v: f32| {
            if gain == 1.0 {
                v
            } else {
                (f64::from(v) * gain) as f32
            }
        };
        if self.format == OutputFormat::F32 {
            // Its own loop, so that the common case tests nothing per sample.
            for i in 0..len {
                for ch in channels {
                    self.writer.write_sample(scaled(ch[i]))?;
                }
            }
            return Ok(());
        }
        for i in 0..len {
            for ch in channels {
                let v = scaled(ch[i]);
                let dither = self.rng.random::<f64>() - self.rng.random::<f64>();
                let scaled = (f64::from(v) * self.full_scale + dither).round();
                let value = scaled.clamp(-self.full_scale, self.full_scale - 1.0);
                if value != scaled {
                    self.clipped += 1;
                }
                self.writer.write_sample(value as i32)?;
            }
        }
        Ok(())
    }

    /// Completes the header (`path` names the file for errors); [`Finished::mark`] then
    /// writes the channel mask.
    pub fn finish(self, path: &Path) -> Result<Finished, CliError> {
        let (clipped, channels) = (self.clipped, self.channels);
        self.writer.finalize().map_err(|e| encode_error(path, e))?;
        Ok(Finished { clipped, channels })
    }
}

/// A WAV file [`WavEncoder`] completed, its channel mask still hound's.
pub struct Finished {
    clipped: u64,
    channels: usize,
}

impl Finished {
    /// Writes [`files::channel_mask`]'s mask into `file`'s header (`path` names it for errors).
    pub fn mark(self, path: &Path, file: &mut File) -> Result<Written, CliError> {
        let mask = set_channel_mask(file, self.channels).map_err(|source| CliError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Written {
            clipped: self.clipped,
            mask,
        })
    }
}

/// Writes `channels` (all the same length) as a 32-bit float WAV at `sample_rate`, atomically.
pub fn write_float(path: &Path, sample_rate: u32, channels: &[Vec<f32>]) -> Result<(), CliError> {
    Ok(files::write_float_wav(path, sample_rate, channels)?)
}

/// Writes text atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    Ok(files::write_text(path, text)?)
}

/// Whether two paths name the same file: the same path, a symbolic link to it or (on Unix) a
/// hard link. False when either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
        false
    }
    #[cfg(not(unix))]
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
