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
    /// The file is not audio the decoder can read.
    #[error("{path} is not a readable WAV, AIFF or FLAC file ({reason})")]
    NotAudio {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// Audio in a coding Soundstage does not decode.
    #[error("{path}: {coding} is not supported; use PCM WAV or AIFF (8/16/24/32-bit integer, 32/64-bit float) or FLAC")]
    SampleFormat {
        /// The file.
        path: PathBuf,
        /// What it holds.
        coding: String,
    },
    /// An input longer than any output file can hold.
    #[error("{path} is longer than {limit} frames ({hours:.1} hours at its rate), the most one WAV file of {outputs} channels ({format}) holds; split it, or choose a smaller --format")]
    TooLong {
        /// The file.
        path: PathBuf,
        /// The most frames accepted.
        limit: u64,
        /// The limit in hours at the file's rate.
        hours: f64,
        /// Output channels.
        outputs: usize,
        /// The output's sample format.
        format: &'static str,
    },
    /// Not a stereo file.
    #[error(
        "{path} has {channels} channel(s); Soundstage processes stereo input (exactly 2 channels)"
    )]
    Channels {
        /// The file.
        path: PathBuf,
        /// How many it has.
        channels: usize,
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
    /// An output name that is not a WAV file's.
    #[error("{output}: Soundstage writes WAV files; give OUT a name ending in .wav")]
    OutputNotWav {
        /// The output path given.
        output: PathBuf,
    },
    /// An output path that names a directory.
    #[error("{output} is a directory; give OUT a file name, e.g. {}", output.join("out.wav").display())]
    OutputIsDirectory {
        /// The output path given.
        output: PathBuf,
    },
    /// An output directory that is a file.
    #[error("{path} is a file; {command} writes its files into a directory: give a directory's name (it is created if missing)")]
    DirectoryIsFile {
        /// The path given.
        path: PathBuf,
        /// The command.
        command: &'static str,
    },
    /// `render` without `--out-dir` given other than an input and an output.
    #[error("render takes IN OUT (2 paths) and {given} were given; to render several files, add --out-dir DIR")]
    RenderPaths {
        /// How many paths were given.
        given: usize,
    },
    /// Two inputs of a batch that would be written to the same output.
    #[error("{first} and {second} would both be written to {output}; rename one, or render them into different directories")]
    SameOutput {
        /// The first input.
        first: PathBuf,
        /// The second.
        second: PathBuf,
        /// The output both name.
        output: PathBuf,
    },
    /// An input of a batch that has no file name to name its output by.
    #[error("{path} has no file name to name its output by; give a file")]
    NoFileName {
        /// The input given.
        path: PathBuf,
    },
    /// Some files of a batch failed (each said why as it failed).
    #[error("{failed} of {total} files failed (each is named above); the others were written")]
    SomeFailed {
        /// How many failed.
        failed: usize,
        /// How many were given.
        total: usize,
    },
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
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
    /// A device measurement whose geometry no parameter can hold.
    #[error("{path}: {reason}")]
    DeviceGeometry {
        /// The file.
        path: PathBuf,
        /// What is out of range, with the numbers.
        reason: String,
    },
    /// The head cannot serve the geometry asked for.
    #[error(transparent)]
    Design(#[from] soundstage::design::DesignError),
    /// The design cannot be exported as asked.
    #[error(transparent)]
    Export(#[from] soundstage::design::export::ExportError),
    /// An export rate outside what Soundstage designs for.
    #[error("--rate {rate}: Soundstage designs for 8000 to 768000 Hz")]
    ExportRate {
        /// The rate given.
        rate: u32,
    },
    /// The rendered audio would not fit a WAV file.
    #[error("{path}: {reason}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl CliError {
    /// Whether the failure is a reader that closed the pipe early (`soundstage params | head
    /// -1`): not worth a word, and the command has done what the reader wanted.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Self::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<soundstage::files::WriteError> for CliError {
    fn from(e: soundstage::files::WriteError) -> Self {
        use soundstage::files::WriteError;
        match e {
            WriteError::Io { path, source } => Self::Write { path, source },
            WriteError::Encode { path, reason } => Self::Encode { path, reason },
        }
    }
}

impl From<soundstage::design::export::ExportFailure> for CliError {
    fn from(e: soundstage::design::export::ExportFailure) -> Self {
        use soundstage::design::export::ExportFailure;
        match e {
            ExportFailure::Refused(why) => Self::Export(why),
            ExportFailure::Write(why) => why.into(),
        }
    }
}
