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
    let mut reader = StereoReader::open(source, extension, max_frames)?;
    let (mut left, mut right) = (Vec::new(), Vec::new());
    while reader.read(&mut left, &mut right, usize::MAX)? > 0 {}
    if left.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(Stereo {
        sample_rate: reader.sample_rate,
        left,
        right,
        read_as: reader.read_as,
    })
}

/// A stereo WAV, AIFF or FLAC stream decoded a chunk at a time, so that a file of any length
/// is read in constant memory; checked as it opens (rate, channels, a PCM header's declared
/// length against the bytes held) and as it is read (at most `max_frames` frames).
pub struct StereoReader {
    format: Box<dyn symphonia::core::formats::FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::audio::AudioDecoder>,
    track_id: u32,
    max_frames: u64,
    frames_read: u64,
    /// Decoded frames not yet handed out, one vector per channel, from `pending_at` on.
    pending: Vec<Vec<f32>>,
    pending_at: usize,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Frames the container declares, if it does (for a progress bar).
    pub declared_frames: Option<u64>,
    /// What is read, in words: the container and the coding.
    pub read_as: String,
}

impl StereoReader {
    /// Opens `source` (see [`decode_stereo_from`]) and checks it before any audio is decoded.
    pub fn open(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        max_frames: u64,
    ) -> Result<Self, InputError> {
        let held = source.byte_len();
        if held == Some(0) {
            return Err(InputError::NotAudio("the file is empty".to_string()));
        }
        let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(extension) = extension {
            hint.with_extension(extension);
        }
        let format = symphonia::default::get_probe()
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
        let decoder = symphonia::default::get_codecs()
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
        let read_as = format!("{container}, {}", coding.long_name);
        Ok(Self {
            format,
            decoder,
            track_id,
            max_frames,
            frames_read: 0,
            pending: Vec::new(),
            pending_at: 0,
            sample_rate,
            declared_frames,
            read_as,
        })
    }

    /// Appends up to `frames` frames to `left` and `right` and returns how many: fewer only
    /// at the end of the stream (0 there).
    pub fn read(
        &mut self,
        left: &mut Vec<f32>,
        right: &mut Vec<f32>,
        frames: usize,
    ) -> Result<usize, InputError> {
        let mut given = 0;
        while given < frames {
            let pending = self.pending.first().map_or(0, Vec::len);
            if self.pending_at == pending && !self.decode_packet()? {
                break;
            }
            let pending = self.pending.first().map_or(0, Vec::len);
            let take = (pending - self.pending_at).min(frames - given);
            let end = self.pending_at + take;
            left.extend_from_slice(&self.pending[0][self.pending_at..end]);
            right.extend_from_slice(&self.pending[1][self.pending_at..end]);
            self.pending_at = end;
            given += take;
        }
        Ok(given)
    }

    /// Decodes the next packet of the track into `pending`; false at the end of the stream.
    fn decode_packet(&mut self) -> Result<bool, InputError> {
        loop {
            let Some(packet) = self.format.next_packet().map_err(not_audio)? else {
                return Ok(false);
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = self.decoder.decode(&packet).map_err(not_audio)?;
            let channels = decoded.spec().channels().count();
            if channels != 2 {
                return Err(InputError::Channels(channels));
            }
            self.frames_read += decoded.frames() as u64;
            if self.frames_read > self.max_frames {
                return Err(InputError::TooLong(self.max_frames, self.sample_rate));
            }
            decoded.copy_to_vecs_planar(&mut self.pending);
            self.pending_at = 0;
            return Ok(true);
        }
    }
}
