//! WAV in and out. Reading checks everything before any work starts (see
//! [`soundstage::offline::wav`]); writing goes to a
//! temporary file in the target directory and is renamed into place, so an interrupted or
//! failed write never leaves a half-written file, and never touches an existing one until
//! the new one is complete and on disk.

use super::CliError;
use hound::{SampleFormat, WavSpec, WavWriter};
use soundstage::offline::wav::{decode_stereo, Stereo, WavError};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Reads a stereo 16/24-bit integer or 32-bit float WAV file.
pub fn read_stereo(path: &Path) -> Result<Stereo, CliError> {
    // Read everything first: I/O failures are then told apart from malformed files.
    let bytes = std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let path = path.to_path_buf();
    decode_stereo(bytes).map_err(|e| match e {
        WavError::NotWav(reason) => CliError::NotWav { path, reason },
        WavError::SampleFormat(format) => CliError::SampleFormat { path, format },
        WavError::Channels(channels) => CliError::Channels { path, channels },
        WavError::SampleRate(rate) => CliError::SampleRate { path, rate },
        WavError::Empty => CliError::Empty { path },
    })
}

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
    write(temporary.as_file_mut())?;
    temporary.as_file().sync_all().map_err(io)?;
    temporary.persist(path).map_err(|e| io(e.error))?;
    // The rename is on disk once the directory is (where the system lets a directory be
    // opened and synced; elsewhere the rename is as durable as the system makes it).
    if let Ok(directory) = File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Writes `channels` (all the same length) as a 32-bit float WAV at `sample_rate`, atomically.
pub fn write_float(path: &Path, sample_rate: u32, channels: &[Vec<f32>]) -> Result<(), CliError> {
    let spec = WavSpec {
        channels: channels.len() as u16,
        sample_rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    write_atomically(path, |temporary| {
        let encode = |e: hound::Error| match e {
            hound::Error::IoError(source) => CliError::Write {
                path: path.to_path_buf(),
                source,
            },
            other => CliError::Encode {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        };
        let mut writer = WavWriter::new(BufWriter::new(temporary), spec).map_err(encode)?;
        let len = channels.first().map_or(0, Vec::len);
        for i in 0..len {
            for ch in channels {
                writer.write_sample(ch[i]).map_err(encode)?;
            }
        }
        writer.finalize().map_err(encode)
    })
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
