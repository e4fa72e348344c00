//! Files written for the user, by the command line and the plugin alike: every file goes to
//! a temporary file in the target directory and is renamed into place, so an interrupted or
//! failed write never leaves a half-written file, and never touches an existing one until
//! the new one is complete and on disk. Driver feeds and filters go into WAV files whose
//! header says their channel layout.

use crossbeam_channel::{bounded, RecvTimeoutError};
use hound::{SampleFormat, WavSpec, WavWriter};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be written, naming it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The system refused (no space, no permission, no such directory).
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The data does not fit the file format.
    #[error("{path}: {reason}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl WriteError {
    /// A hound error writing `path`, in the user's words.
    pub fn of_wav(path: &Path, e: hound::Error) -> Self {
        match e {
            hound::Error::IoError(source) => Self::Io {
                path: path.to_path_buf(),
                source,
            },
            other => Self::Encode {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        }
    }
}

/// How often a file being written atomically is pushed to disk while it is written.
const WRITE_BACK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// Writes `path` atomically: `write` fills a new temporary file in the same directory
/// (created exclusively, with an unpredictable name, so nothing planted there is followed),
/// which is flushed to disk and then renamed into place. On any failure the temporary file
/// is removed and an existing `path` is left as it was. The file gets the permissions a plain
/// create would give it (0666 less the umask). `io` says a system error in the caller's
/// terms.
pub fn write_atomically<E>(
    path: &Path,
    io: impl Fn(std::io::Error) -> E,
    write: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
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
    let mut temporary = builder.tempfile_in(dir).map_err(&io)?;
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
    temporary.as_file().sync_all().map_err(&io)?;
    temporary.persist(path).map_err(|e| io(e.error))?;
    // The rename is on disk once the directory is (where the system lets a directory be
    // opened and synced; elsewhere the rename is as durable as the system makes it).
    if let Ok(directory) = File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Writes text to `path` atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    write_atomically(path, io, |temporary| {
        temporary.write_all(text.as_bytes()).map_err(io)
    })
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

/// Writes [`channel_mask`]'s mask for `channels` into the `WAVEFORMATEXTENSIBLE` header
/// hound wrote in `file` (hound picks a mask from the channel count alone) and returns it; a
/// plain PCM header (16-bit stereo) has no mask and is left (`None`).
pub fn set_channel_mask(file: &mut File, channels: usize) -> std::io::Result<Option<u32>> {
    let mask = channel_mask(channels);
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

/// Most channels a WAV file written here holds: a WAV header counts them in 16 bits.
const MAX_WAV_CHANNELS: usize = u16::MAX as usize;

/// Writes `channels` (all the same length; driver feeds in line order) as a 32-bit float WAV
/// file at `sample_rate`, atomically, with [`channel_mask`]'s mask.
pub fn write_float_wav(
    path: &Path,
    sample_rate: u32,
    channels: &[Vec<f32>],
) -> Result<(), WriteError> {
    let encode = |reason: String| WriteError::Encode {
        path: path.to_path_buf(),
        reason,
    };
    let count = u16::try_from(channels.len())
        .map_err(|_| encode(format!("more than {MAX_WAV_CHANNELS} channels")))?;
    let len = channels.first().map_or(0, Vec::len);
    if channels.iter().any(|c| c.len() != len) {
        return Err(encode("channels of different lengths".into()));
    }
    let spec = WavSpec {
        channels: count,
        sample_rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    write_atomically(path, io, |file| {
        let wav = |e| WriteError::of_wav(path, e);
        let mut writer = WavWriter::new(BufWriter::new(&mut *file), spec).map_err(wav)?;
        for i in 0..len {
            for channel in channels {
                writer.write_sample(channel[i]).map_err(wav)?;
            }
        }
        writer.finalize().map_err(wav)?;
        set_channel_mask(file, channels.len()).map_err(io)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_existing_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filters.json");
        std::fs::write(&path, "kept").unwrap();
        let failed: Result<(), std::io::Error> = write_atomically(
            &path,
            |e| e,
            |file| {
                file.write_all(b"half")?;
                Err(std::io::Error::other("the disk is full"))
            },
        );
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
    }

    #[test]
    fn a_three_channel_float_wav_has_no_speaker_mask_and_a_pair_front_left_right() {
        let dir = tempfile::tempdir().unwrap();
        for (channels, mask) in [(2, 0x3u32), (3, 0), (4, 0)] {
            let path = dir.path().join(format!("{channels}.wav"));
            let data: Vec<Vec<f32>> = (0..channels).map(|c| vec![c as f32 * 0.25; 5]).collect();
            write_float_wav(&path, 48_000, &data).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let at = CHANNEL_MASK_OFFSET as usize;
            assert_eq!(
                u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()),
                mask
            );
            let mut reader = hound::WavReader::open(&path).unwrap();
            assert_eq!(reader.spec().channels as usize, channels);
            let read: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
            assert_eq!(read.len(), 5 * channels);
            assert_eq!(read[channels - 1], (channels - 1) as f32 * 0.25);
        }
        let ragged = write_float_wav(&dir.path().join("r.wav"), 48_000, &[vec![0.0; 2], vec![]]);
        assert!(matches!(ragged, Err(WriteError::Encode { .. })));
    }
}
