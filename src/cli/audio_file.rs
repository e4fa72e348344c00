//! Audio in and out. Reading (WAV, AIFF, FLAC) checks everything before any work starts (see
//! [`soundstage::offline::audio_in`]); writing (WAV) goes to a
//! temporary file in the target directory and is renamed into place, so an interrupted or
//! failed write never leaves a half-written file, and never touches an existing one until
//! the new one is complete and on disk.

use super::CliError;
use crossbeam_channel::{bounded, RecvTimeoutError};
use hound::{SampleFormat, WavSpec, WavWriter};
use rand::{RngExt, SeedableRng};
use soundstage::offline::audio_in::{max_wav_frames, InputError, StereoReader};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
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

/// How often a file being written atomically is pushed to disk while it is written.
const WRITE_BACK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// Writes `path` atomically: `write` fills a new temporary file in the same directory
/// (created exclusively, with an unpredictable name, so nothing planted there is followed),
/// which is flushed to disk and then renamed into place. On any failure the temporary file
/// is removed and an existing `path` is left as it was. The file gets the permissions a plain
/// create would give it (0666 less the umask).
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let io = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    // The temporary name adds a dot, six random characters and ".partial": shorten the
    // target's part so that a target name the file system takes gives one it takes too.
    let short: String = name.chars().take(64).collect();
    let prefix = format!(".{short}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(dir).map_err(io)?;
    // While `write` runs, a helper pushes what is written so far to disk, so that the
    // flush before the rename waits for the last part only, not the whole file (a render
    // computes faster than a disk takes its output). A second handle, because `write`
    // holds the first; if it cannot be had, the final flush does it all.
    let written_back = temporary.as_file().try_clone();
    std::thread::scope(|scope| {
        let (done, finished) = bounded::<()>(0);
        if let Ok(file) = written_back {
            scope.spawn(move || {
                while finished.recv_timeout(WRITE_BACK_INTERVAL) == Err(RecvTimeoutError::Timeout) {
                    // A failure shows again in the final flush, which reports it.
                    let _ = file.sync_data();
                }
            });
        }
        let wrote = write(temporary.as_file_mut());
        drop(done);
        wrote
    })?;
    temporary.as_file().sync_all().map_err(io)?;
    temporary.persist(path).map_err(|e| io(e.error))?;
    // The rename is on disk once the directory is (where the system lets a directory be
    // opened and synced; elsewhere the rename is as durable as the system makes it).
    if let Ok(directory) = File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
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

/// The `WAVE_FORMAT_EXTENSIBLE` speaker mask of `channels` driver feeds in line order,
/// leftmost first: a pair is front left and front right (0x3); a line of three or four
/// drivers is no standard speaker layout (a three-driver line is L, C, R in that order, which
/// no mask can say, and a fourth channel would be read as the LFE), so it gets none (0) and a
/// player maps its channels in file order.
pub fn channel_mask(channels: usize) -> u32 {
    if channels == 2 {
        0x3
    } else {
        0
    }
}

/// Byte offset of `wFormatTag` in a WAV file whose `fmt ` chunk comes first, as hound writes.
const FORMAT_TAG_OFFSET: u64 = 20;

/// Byte offset of `dwChannelMask` in such a file's `WAVEFORMATEXTENSIBLE`.
const CHANNEL_MASK_OFFSET: u64 = 40;

/// `wFormatTag` of `WAVE_FORMAT_EXTENSIBLE`.
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Seed of the dither noise: the same input renders to the same file.
const DITHER_SEED: u64 = 0x5EED_D17E;

/// What [`write_wav`] wrote.
pub struct Written {
    /// Samples clipped at full scale (integer formats).
    pub clipped: u64,
    /// The speaker mask in the header: `None` where the header is plain PCM (16-bit stereo,
    /// which hound writes without `WAVE_FORMAT_EXTENSIBLE`; a player takes it as L, R).
    pub mask: Option<u32>,
}

/// Writes `channels` (all the same length; driver feeds in line order) as a WAV file of
/// `format` at `sample_rate`, atomically, with [`channel_mask`]'s mask. Integer formats get
/// TPDF dither of ±1 LSB; samples beyond full scale are clipped there, and counted.
pub fn write_wav(
    path: &Path,
    sample_rate: u32,
    channels: &[Vec<f32>],
    format: OutputFormat,
) -> Result<Written, CliError> {
    let mut written = None;
    write_atomically(path, |temporary| {
        let mut encoder = WavEncoder::new(&mut *temporary, sample_rate, channels.len(), format)
            .map_err(|e| encode_error(path, e))?;
        encoder
            .write(channels, 1.0)
            .map_err(|e| encode_error(path, e))?;
        written = Some(encoder.finish(path)?.mark(path, temporary)?);
        Ok(())
    })?;
    Ok(written.expect("written once the file is in place"))
}

/// A hound error in the user's words.
pub fn encode_error(path: &Path, e: hound::Error) -> CliError {
    match e {
        hound::Error::IoError(source) => CliError::Write {
            path: path.to_path_buf(),
            source,
        },
        other => CliError::Encode {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
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
    /// Writes [`channel_mask`]'s mask into `file`'s header (`path` names it for errors).
    pub fn mark(self, path: &Path, file: &mut File) -> Result<Written, CliError> {
        let mask = set_channel_mask(file, channel_mask(self.channels)).map_err(|source| {
            CliError::Write {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Written {
            clipped: self.clipped,
            mask,
        })
    }
}

/// Writes `mask` into the `WAVEFORMATEXTENSIBLE` header hound wrote (hound picks a mask from
/// the channel count alone) and returns it; a plain PCM header (16-bit stereo) has no mask
/// and is left (`None`).
fn set_channel_mask(file: &mut File, mask: u32) -> std::io::Result<Option<u32>> {
    let mut tag = [0u8; 2];
    file.seek(SeekFrom::Start(FORMAT_TAG_OFFSET))?;
    file.read_exact(&mut tag)?;
    if u16::from_le_bytes(tag) != WAVE_FORMAT_EXTENSIBLE {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(CHANNEL_MASK_OFFSET))?;
    file.write_all(&mask.to_le_bytes())?;
    Ok(Some(mask))
}

/// Writes `channels` (all the same length) as a 32-bit float WAV at `sample_rate`, atomically.
pub fn write_float(path: &Path, sample_rate: u32, channels: &[Vec<f32>]) -> Result<(), CliError> {
    write_wav(path, sample_rate, channels, OutputFormat::F32).map(|_| ())
}

/// Writes text atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    write_atomically(path, |temporary| {
        temporary
            .write_all(text.as_bytes())
            .map_err(|source| CliError::Write {
                path: path.to_path_buf(),
                source,
            })
    })
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
