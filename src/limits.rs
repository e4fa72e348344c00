//! The limits on everything that comes from outside (session state, SOFA files, audio files,
//! head-tracker packets),
//! in one place: the state loader, the SOFA reader and the command line check against these,
//! before any arithmetic or allocation that the outside data sizes.

/// Sample rates Soundstage accepts from a host, a SOFA set or an audio file, Hz.
pub const SAMPLE_RATES_HZ: std::ops::RangeInclusive<f64> = 8_000.0..=768_000.0;

/// Largest SOFA file read, bytes: a dense full-sphere set at 96 kHz is tens of MB; anything
/// far beyond is not an HRIR set a plugin should hold in memory.
pub const MAX_SOFA_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Longest impulse response kept from a SOFA set, seconds (HRIRs decay within a few
/// milliseconds; what comes later is room or noise).
pub const MAX_IR_SECONDS: f64 = 0.02;

/// Most distinct directions kept from the horizontal plane: a 0.25° grid all round. Every
/// kept direction is analysed and may travel in the session state, so this bounds both.
pub const MAX_HORIZONTAL_DIRECTIONS: usize = 1440;

/// Measurement radii a measured head may have, metres: the ears' sight lines to a driver
/// assume it is outside the head (the ears sit 8.75 cm from its centre), and the responses are
/// moved from this radius to each driver along them, so a radius must be a real distance.
pub const MEASUREMENT_RADII_M: std::ops::RangeInclusive<f64> = 0.1..=10.0;

/// Most directions a stored head may hold: what the SOFA reader keeps at most (a stored head
/// keeps a part of those, the directions in front).
pub const MAX_STORED_DIRECTIONS: usize = MAX_HORIZONTAL_DIRECTIONS;

/// Most taps a stored response may hold: the longest response kept ([`MAX_IR_SECONDS`]) at
/// the highest rate accepted.
pub const MAX_STORED_TAPS: usize = (MAX_IR_SECONDS * *SAMPLE_RATES_HZ.end()) as usize;

/// Editor sizes accepted from a session state, logical pixels (width, height): from the
/// smallest that shows every control to a window larger than any display.
pub const EDITOR_SIZES: [std::ops::RangeInclusive<f32>; 2] = [720.0..=8192.0, 480.0..=8192.0];

/// Most bytes of unknown entries (from a newer version's state) kept to be saved again.
pub const MAX_KEPT_STATE_BYTES: usize = 1024 * 1024;

/// Most measurements a SOFA file may declare (the densest public HRTF sets hold about
/// 12,000): bounds the positions read and the directions sorted.
pub const MAX_SOFA_MEASUREMENTS: u64 = 100_000;

/// Most taps a SOFA file's responses may declare, before only the first
/// [`MAX_IR_SECONDS`] of each is kept: 1.4 s at 48 kHz, far beyond any HRIR.
pub const MAX_SOFA_TAPS: u64 = 65_536;

/// Most values any SOFA variable other than the responses may declare (positions, delays,
/// rates: three per measurement at most).
pub const MAX_SOFA_VARIABLE_VALUES: u64 = 3 * MAX_SOFA_MEASUREMENTS;

/// Most bytes a SOFA file may declare a chunk of its responses to decode to: the reader
/// decodes whole chunks, so a chunk is what one read can cost.
pub const MAX_SOFA_CHUNK_BYTES: u64 = 64 * 1024 * 1024;

/// Most bytes the SOFA reader may decode to read the responses it keeps (each chunk counted
/// every time a read decodes it): a dense full-sphere set decodes to tens of MB.
pub const MAX_SOFA_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Longest head-tracker datagram read, bytes: an opentrack pose is 48 bytes and an OSC pose
/// message under 64; anything longer is not a pose and is dropped unread.
pub const MAX_TRACKER_DATAGRAM_BYTES: usize = 1024;

/// Largest head-tracker position accepted, metres from the tracker's origin along any axis:
/// beyond a room's size a reading is noise or another protocol, and is dropped.
pub const MAX_TRACKED_POSITION_M: f64 = 20.0;

/// Largest head-tracker angle accepted, degrees (trackers send ±180°, some unwrapped to a
/// few turns): beyond this a reading is dropped.
pub const MAX_TRACKED_ANGLE_DEG: f64 = 720.0;

/// Ports a head tracker may be listened for on (the unprivileged ones).
pub const TRACKER_PORTS: std::ops::RangeInclusive<u16> = 1024..=65535;

/// Driver counts a device measurement may hold: the layouts Soundstage designs for
/// (2, 3 or 4 drivers, one output each).
pub const DEVICE_DRIVERS: std::ops::RangeInclusive<u64> = 2..=4;

/// Most listener positions a device measurement may hold: a zone measured on a 1 cm grid
/// across ±15 cm is under a thousand; the reader keeps every one.
pub const MAX_DEVICE_POSITIONS: u64 = 1024;

/// Longest response kept from a device measurement, seconds: the direct sound and the
/// head's and cabinet's own response, with room for a measuring system's latency. A
/// measurement made in a room should be windowed before it is designed from.
pub const MAX_DEVICE_IR_SECONDS: f64 = 0.05;

/// Farthest from its origin a device measurement may place anything, metres along any axis:
/// beyond a large hall's size a position is a mistake (or another unit), and is refused.
pub const MAX_DEVICE_COORDINATE_M: f64 = 100.0;

/// Most response values a session keeps of a measured device (after its silence is
/// trimmed): 8 MiB of samples, a prototype measured at a few dozen positions; a state
/// must stay small enough for hosts to save with every session.
pub const MAX_STORED_DEVICE_VALUES: usize = 2 * 1024 * 1024;

/// Most responses (listeners × ears × drivers) a session keeps of a measured device: each is
/// analysed into a spectrum of at least 1,025 bins when the session opens, so this bounds
/// what a state can make the plugin allocate (34 MB at the shortest responses).
pub const MAX_STORED_DEVICE_RESPONSES: usize = 2048;
