//! Everything that can go wrong on the command line, each with a message that says what to do.

use std::path::PathBuf;

/// A command-line failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a WAV file hound can read.
    #[error("{path} is not a readable WAV file ({reason})")]
    NotWav {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A WAV file with a sample format we do not read.
    #[error("{path}: {format} is not supported; use 16- or 24-bit integer or 32-bit float WAV")]
    SampleFormat {
        /// The file.
        path: PathBuf,
        /// What it is.
        format: String,
    },
    /// Not a stereo file.
    #[error(
        "{path} has {channels} channel(s); Soundstage processes stereo input (exactly 2 channels)"
    )]
    Channels {
        /// The file.
        path: PathBuf,
        /// How many it has.
        channels: u16,
    },
    /// A sample rate outside what Soundstage accepts.
    #[error("{path}: its sample rate is {rate} Hz; Soundstage renders at 8000 to 768000 Hz")]
    SampleRate {
        /// The file.
        path: PathBuf,
        /// The rate its header declares.
        rate: u32,
    },
    /// An empty file.
    #[error("{path} contains no audio (zero samples)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The output would replace the input.
    #[error("refusing to write {output}: it is the input file; choose another output path")]
    SameFile {
        /// The output path given.
        output: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A malformed `--set`.
    #[error("--set {given:?}: expected ID=VALUE, e.g. --set width=60")]
    SetSyntax {
        /// What was given.
        given: String,
    },
    /// A `--set` with an unknown id.
    #[error("unknown parameter id {id:?}; known ids: {known}")]
    UnknownParam {
        /// The id given.
        id: String,
        /// The ids that exist.
        known: String,
    },
    /// A `--set` value that does not parse or is out of range.
    #[error("{id}={value}: {reason}")]
    BadValue {
        /// The id.
        id: String,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// An unknown preset.
    #[error("unknown preset {name:?}; presets: {known}")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The presets that exist.
        known: String,
    },
    /// A SOFA file that cannot be used.
    #[error("{path}: {source}")]
    Sofa {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: soundstage::design::model::sofa::SofaError,
    },
    /// A pose file that cannot be followed.
    #[error("{path}: {source}")]
    Poses {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: soundstage::offline::poses::PoseFileError,
    },
    /// A pose file larger than any trajectory.
    #[error("{path} is {bytes} bytes; a pose file may hold at most {limit} bytes")]
    PosesTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The head cannot serve the geometry asked for.
    #[error(transparent)]
    Design(#[from] soundstage::design::DesignError),
    /// The rendered audio would not fit a WAV file.
    #[error("{path}: {reason}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
