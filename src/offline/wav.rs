//! Decoding the stereo input from WAV bytes, checked before any work: the sample format,
//! the rate against [`crate::limits::SAMPLE_RATES_HZ`], two channels, and the data the
//! header declares against the bytes the file holds, so that a short file that declares
//! gigabytes costs nothing.

use hound::{SampleFormat, WavReader};

/// A stereo recording.
pub struct Stereo {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
}

/// Why WAV bytes are not a stereo input Soundstage reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WavError {
    /// Not a WAV file the decoder can read, in its words.
    #[error("{0}")]
    NotWav(String),
    /// A sample format Soundstage does not read.
    #[error("{0} is not supported")]
    SampleFormat(String),
    /// Not two channels.
    #[error("{0} channel(s)")]
    Channels(u16),
    /// A rate outside [`crate::limits::SAMPLE_RATES_HZ`].
    #[error("{0} Hz")]
    SampleRate(u32),
    /// No samples.
    #[error("no samples")]
    Empty,
}

/// Decodes a 16/24-bit integer or 32-bit float stereo WAV file held in `bytes`.
pub fn decode_stereo(bytes: Vec<u8>) -> Result<Stereo, WavError> {
    let held = bytes.len() as u64;
    let not_wav = |e: hound::Error| {
        WavError::NotWav(match e {
            hound::Error::IoError(_) => "the file ends before its header or data do".to_string(),
            other => other.to_string(),
        })
    };
    let reader = WavReader::new(std::io::Cursor::new(bytes)).map_err(not_wav)?;
    let spec = reader.spec();
    let format = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Int, 16) | (SampleFormat::Int, 24) | (SampleFormat::Float, 32) => None,
        (SampleFormat::Int, bits) => Some(format!("{bits}-bit integer")),
        (SampleFormat::Float, bits) => Some(format!("{bits}-bit float")),
    };
    if let Some(format) = format {
        return Err(WavError::SampleFormat(format));
    }
    // NOTE: hound reads any rate but its writer divides by it (0 Hz panics) and multiplies
    // it unchecked into the header's bytes per second.
    if !crate::limits::SAMPLE_RATES_HZ.contains(&(spec.sample_rate as f64)) {
        return Err(WavError::SampleRate(spec.sample_rate));
    }
    if spec.channels != 2 {
        return Err(WavError::Channels(spec.channels));
    }
    if reader.duration() == 0 {
        return Err(WavError::Empty);
    }
    // The decoder reserves room for every sample the header declares: refuse a declaration
    // the file cannot hold before it does.
    let declared = u64::from(reader.len());
    let bytes_per_sample = u64::from(spec.bits_per_sample).div_ceil(8);
    if declared
        .checked_mul(bytes_per_sample)
        .is_none_or(|b| b > held)
    {
        return Err(WavError::NotWav(format!(
            "its header declares {declared} samples, more than its {held} bytes hold"
        )));
    }
    let samples: Vec<f32> = match spec.sample_format {
        SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(not_wav)?,
        SampleFormat::Int => {
            let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(not_wav)?
        }
    };
    let (left, right) = samples.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
    Ok(Stereo {
        sample_rate: spec.sample_rate,
        left,
        right,
    })
}
