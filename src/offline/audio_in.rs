//! Decoding the stereo input: WAV, AIFF and FLAC through `symphonia`, checked before any
//! work (the rate against [`crate::limits::SAMPLE_RATES_HZ`], two channels) and while it is
//! decoded (at most the frames the output can hold, [`max_wav_frames`]), so that a short file that declares
//! gigabytes, or a small FLAC file that unpacks to more than any output can hold, costs
//! nothing beyond what it really holds.

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// Bytes of the header hound writes before a WAV file's data (`WAVE_FORMAT_EXTENSIBLE`).
const WAV_HEADER_BYTES: u64 = 68;

/// Most frames a WAV file of `channels` channels of `bytes_per_sample` each can hold (its
/// data chunk's size is a 32-bit count of bytes): 3.1 hours of stereo 32-bit float at 48 kHz,
/// 1.6 hours of four drivers. An input longer than its output can hold is refused while it is
/// decoded.
pub fn max_wav_frames(channels: usize, bytes_per_sample: usize) -> u64 {
    (u64::from(u32::MAX) - WAV_HEADER_BYTES) / (channels.max(1) * bytes_per_sample.max(1)) as u64
}

/// A stereo recording.
pub struct Stereo {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
    /// What was read, in words: the container and the coding.
    pub read_as: String,
}

/// Why a file is not a stereo input Soundstage reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// Not audio the decoder can read, in its words.
    #[error("{0}")]
    NotAudio(String),
    /// A coding Soundstage does not decode.
    #[error("{0} is not supported")]
    SampleFormat(String),
    /// Not two channels.
    #[error("{0} channel(s)")]
    Channels(usize),
    /// A rate outside [`crate::limits::SAMPLE_RATES_HZ`].
    #[error("{0} Hz")]
    SampleRate(u32),
    /// No samples.
    #[error("no samples")]
    Empty,
    /// More frames than the output can hold: the limit, and the file's rate.
    #[error("longer than {0} frames")]
    TooLong(u64, u32),
}

/// A decoder's failure in the user's words.
fn not_audio(e: DecodeError) -> InputError {
    match e {
        DecodeError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            InputError::NotAudio("the file ends before its header or data do".to_string())
        }
        DecodeError::IoError(e) => InputError::NotAudio(format!("reading it failed: {e}")),
        // The probe's own refusal: nothing it knows. A reader's: a container it knows,
        // holding a coding it does not read (MP3 in WAV, compressed AIFF-C).
        DecodeError::Unsupported(what) if what.starts_with("core") => {
            InputError::NotAudio("its contents are none of these formats".to_string())
        }
        DecodeError::Unsupported(what) => {
            InputError::SampleFormat(format!("the coding of its audio ({what})"))
        }
        DecodeError::DecodeError(detail) => {
            InputError::NotAudio(format!("it is damaged or cut short: {detail}"))
        }
        other => InputError::NotAudio(other.to_string()),
    }
}

/// Decodes a stereo file held in `bytes` (see [`decode_stereo_from`]), of at most what a
/// stereo 32-bit WAV file holds.
pub fn decode_stereo(bytes: Vec<u8>) -> Result<Stereo, InputError> {
    decode_stereo_from(
        Box::new(std::io::Cursor::new(bytes)),
        None,
        max_wav_frames(2, 4),
    )
}

/// Decodes a stereo WAV, AIFF or FLAC stream of at most `max_frames` frames; `extension`
/// (the file's, if any) helps the probe, which otherwise goes by the stream's first bytes.
pub fn decode_stereo_from(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    max_frames: u64,
) -> Result<Stereo, InputError> {
    let held = source.byte_len();
    if held == Some(0) {
        return Err(InputError::NotAudio("the file is empty".to_string()));
    }
    let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(not_audio)?;
    let container = format.format_info().long_name;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| InputError::NotAudio("it holds no audio track".to_string()))?;
    let (track_id, declared_frames) = (track.id, track.num_frames);
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| InputError::NotAudio("it holds no audio track".to_string()))?
        .clone();
    let sample_rate = params
        .sample_rate
        .ok_or_else(|| InputError::NotAudio("it declares no sample rate".to_string()))?;
    if !crate::limits::SAMPLE_RATES_HZ.contains(&f64::from(sample_rate)) {
        return Err(InputError::SampleRate(sample_rate));
    }
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    if channels != 2 {
        return Err(InputError::Channels(channels));
    }
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|_| InputError::SampleFormat(format!("{container} audio in this coding")))?;
    let coding = decoder.codec_info();
    // Uncompressed samples take a known room: a header that declares more than the file
    // holds is refused before decoding, in words that say so.
    let coded_bits = params.bits_per_coded_sample.or(params.bits_per_sample);
    if let (true, Some(frames), Some(held), Some(bits)) = (
        coding.short_name.starts_with("pcm"),
        declared_frames,
        held,
        coded_bits,
    ) {
        let bytes_per_frame = 2 * u64::from(bits.div_ceil(8));
        if frames.checked_mul(bytes_per_frame).is_none_or(|b| b > held) {
            return Err(InputError::NotAudio(format!(
                "its header declares {frames} frames, more than its {held} bytes hold"
            )));
        }
    }
    let coding = coding.long_name;
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    while let Some(packet) = format.next_packet().map_err(not_audio)? {
        if packet.track_id != track_id {
            continue;
        }
        let decoded = decoder.decode(&packet).map_err(not_audio)?;
        if decoded.spec().channels().count() != 2 {
            return Err(InputError::Channels(decoded.spec().channels().count()));
        }
        if (left.len() + decoded.frames()) as u64 > max_frames {
            return Err(InputError::TooLong(max_frames, sample_rate));
        }
        decoded.copy_to_vec_interleaved(&mut interleaved);
        for frame in interleaved.chunks_exact(2) {
            left.push(frame[0]);
            right.push(frame[1]);
        }
    }
    if left.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(Stereo {
        sample_rate,
        left,
        right,
        read_as: format!("{container}, {coding}"),
    })
}
