//! Hostile input, generated: SOFA files mutated from a valid one (bit flips, truncation,
//! dimensions rewritten), WAV headers, and whole plugin states. Each case must end in an
//! error or a clean load, never a panic, and within a bounded heap and time. The case counts
//! are what CI runs; `PROPTEST_CASES` raises them for a longer run.

mod common;

use base64::Engine as _;
use common::peak_heap;
use common::sofa::{self, Extras, Head, SOFA_TAPS};
use nice_plug::plugin::{ParamValue, PluginState};
use proptest::prelude::*;
use soundstage::design::model::device::MeasuredDevice;
use soundstage::design::model::head::{DeviceChoice, HeadChoice, PlantCache};
use soundstage::design::model::sofa::{parse, parse_any, SofaError, SofaSet};
use soundstage::offline::audio_in::decode_stereo;
use soundstage::params::migrate_state;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Cases per property: 10,000 in CI, or `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The most heap one hostile SOFA parse may hold: the valid file's whole set is a few MB.
const SOFA_HEAP_BOUND: u64 = 64 * 1024 * 1024;

/// The longest one hostile input may take (a hang check, not a speed target).
const TIME_BOUND: Duration = Duration::from_secs(5);

/// A valid SOFA file (24 directions on the horizontal plane, 512 taps), written once.
fn valid_sofa() -> &'static (Vec<u8>, usize) {
    static FILE: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("valid.sofa");
        let set = sofa::measurements(Head::Sphere, 15.0);
        sofa::write(&path, "valid", &set, &Extras::default());
        (std::fs::read(&path).unwrap(), set.len())
    })
}

/// Where Data.IR's dimensions (M, 2, N) sit in the file, as little-endian u64s.
fn ir_dimensions_at(bytes: &[u8], m: usize) -> usize {
    let pattern: Vec<u8> = [m as u64, 2, SOFA_TAPS as u64]
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    bytes
        .windows(pattern.len())
        .position(|w| w == pattern.as_slice())
        .expect("Data.IR's dataspace is in the file")
}

/// Bob Jenkins' lookup3 `hashlittle` with seed 0: HDF5's metadata checksum.
fn lookup3(data: &[u8]) -> u32 {
    let mix = |a: &mut u32, b: &mut u32, c: &mut u32| {
        *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
        *b = b.wrapping_add(*a);
        *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
        *b = b.wrapping_add(*a);
    };
    let word = |k: &[u8]| u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
    let init = 0xdead_beefu32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    c = (c ^ b).wrapping_sub(b.rotate_left(14));
    a = (a ^ c).wrapping_sub(c.rotate_left(11));
    b = (b ^ a).wrapping_sub(a.rotate_left(25));
    c = (c ^ b).wrapping_sub(b.rotate_left(16));
    a = (a ^ c).wrapping_sub(c.rotate_left(4));
    b = (b ^ a).wrapping_sub(a.rotate_left(14));
    (c ^ b).wrapping_sub(b.rotate_left(24))
}

/// The byte range a version-2 object header's checksum covers, for the header holding
/// `offset`, and where the checksum is.
fn object_header_around(bytes: &[u8], offset: usize) -> (usize, usize) {
    let start = bytes[..offset]
        .windows(4)
        .rposition(|w| w == b"OHDR")
        .expect("Data.IR has a version-2 object header");
    let flags = bytes[start + 5];
    let mut at = start + 6;
    if flags & 0x20 != 0 {
        at += 16;
    }
    if flags & 0x10 != 0 {
        at += 4;
    }
    let width = 1usize << (flags & 3);
    let mut size = [0u8; 8];
    size[..width].copy_from_slice(&bytes[at..at + width]);
    let checksum_at = at + width + u64::from_le_bytes(size) as usize;
    (start, checksum_at)
}

/// The valid file with Data.IR's declared dimensions replaced by `dims`, its header's
/// checksum made right again: what a crafted file looks like.
fn with_ir_dimensions(dims: [u64; 3]) -> Vec<u8> {
    let (valid, m) = valid_sofa();
    let at = ir_dimensions_at(valid, *m);
    let (start, checksum_at) = object_header_around(valid, at);
    let stored = u32::from_le_bytes(valid[checksum_at..checksum_at + 4].try_into().unwrap());
    assert_eq!(
        lookup3(&valid[start..checksum_at]),
        stored,
        "the checksum is recomputed right"
    );
    let mut bytes = valid.clone();
    for (k, d) in dims.iter().enumerate() {
        bytes[at + 8 * k..at + 8 * k + 8].copy_from_slice(&d.to_le_bytes());
    }
    let checksum = lookup3(&bytes[start..checksum_at]);
    bytes[checksum_at..checksum_at + 4].copy_from_slice(&checksum.to_le_bytes());
    bytes
}

/// Parses `bytes`, failing the case on a panic, a heap beyond the bound or a hang.
fn parse_within_bounds(bytes: Vec<u8>) -> Result<Result<(), SofaError>, TestCaseError> {
    let start = Instant::now();
    let (outcome, heap) =
        peak_heap(|| std::panic::catch_unwind(|| parse(bytes, "mutated").map(|_| ())));
    let elapsed = start.elapsed();
    let outcome = outcome.map_err(|_| TestCaseError::fail("the SOFA reader panicked"))?;
    prop_assert!(heap <= SOFA_HEAP_BOUND, "held {heap} bytes of heap");
    prop_assert!(elapsed <= TIME_BOUND, "took {elapsed:?}");
    Ok(outcome)
}

#[test]
fn a_sofa_file_declaring_far_more_data_than_it_holds_is_refused_before_reading() {
    let m = valid_sofa().1 as u64;
    let taps = SOFA_TAPS as u64;
    // A few kB that say: 2^40 measurements, 2^40 taps, a million taps, or more measurements
    // than the file holds (within the limits: the read of what is not there fails).
    for (dims, expected) in [
        ([1u64 << 40, 2, taps], "declares 1099511627776 measurements"),
        ([m, 2, 1 << 40], "declares 1099511627776 taps"),
        ([m, 2, 1 << 20], "declares 1048576 taps"),
        ([u64::MAX, 2, u64::MAX], "declares"),
        ([50_000, 2, taps], ""),
    ] {
        let bytes = with_ir_dimensions(dims);
        let start = Instant::now();
        let (outcome, heap) = peak_heap(|| parse(bytes, "declared"));
        let message = outcome
            .expect_err("a file that lies about its size is refused")
            .to_string();
        println!(
            "{dims:?}: {message} ({heap} bytes of heap, {:?})",
            start.elapsed()
        );
        assert!(message.contains(expected), "{dims:?}: {message}");
        assert!(
            heap <= SOFA_HEAP_BOUND,
            "{dims:?}: held {heap} bytes of heap"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sofa_files_are_refused_or_read_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        dims in prop::option::of((any::<u64>(), any::<u64>(), any::<u64>())),
    ) {
        let mut bytes = match dims {
            Some((a, b, c)) => with_ir_dimensions([a, b, c]),
            None => valid_sofa().0.clone(),
        };
        for (index, bit) in &flips {
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let _refused_or_read = parse_within_bounds(bytes)?;
    }
}

/// A valid device measurement (SingleRoomMIMOSRIR: 3 drivers, 3 listener positions, 512
/// taps), written once.
fn valid_device() -> &'static Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.sofa");
        let pose = |offset: f64, yaw: f64| sofa::Pose {
            offset,
            distance: 0.6,
            yaw,
        };
        let device = sofa::Device {
            head: Head::Sphere,
            drivers: 3,
            spacing: 0.12,
            poses: vec![pose(0.0, 0.0), pose(0.05, 0.0), pose(-0.05, 10.0)],
            file: sofa::DeviceFile::Mimo,
        };
        sofa::write_device(&path, "valid", &device, sofa::DeviceFaults::default());
        std::fs::read(&path).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 4, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_device_files_are_refused_or_read_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = valid_device().clone();
        for (index, bit) in &flips {
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let start = Instant::now();
        let (outcome, heap) = peak_heap(|| {
            std::panic::catch_unwind(|| {
                if let Ok(SofaSet::Device(set)) = parse_any(bytes, "mutated") {
                    MeasuredDevice::new(&set);
                }
            })
        });
        prop_assert!(outcome.is_ok(), "the device reader or its plant panicked");
        prop_assert!(heap <= SOFA_HEAP_BOUND, "held {heap} bytes of heap");
        prop_assert!(start.elapsed() <= TIME_BOUND, "took {:?}", start.elapsed());
    }
}

/// The most heap one WAV decode may hold, per byte of the file (its samples as f32, twice
/// while they are split into channels) plus a little.
const WAV_HEAP_PER_BYTE: u64 = 8;

/// The heap a decode holds whatever the file: symphonia's 64 KiB read buffer and its
/// packet buffers.
const DECODER_FIXED_HEAP: u64 = 128 * 1024;

/// A WAV header with the given fields, then `data` bytes, with `declared` as the data
/// chunk's size.
fn wav_bytes(
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    declared: u32,
    data: &[u8],
) -> Vec<u8> {
    let block = channels.wrapping_mul(bits.div_ceil(8));
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn a_wav_header_declaring_gigabytes_in_a_short_file_is_refused_before_reading() {
    let data = vec![0u8; 400];
    // Beyond the file: refused from the header, in words that say so; a few bytes short:
    // the decoder finds the end.
    // With the RIFF size the data's (the data chunk runs past it: the file is damaged) and
    // with the RIFF size the declaration's (refused from the declaration itself).
    for (declared, riff_matches, expected) in [
        (u32::MAX - 3, false, "damaged or cut short"),
        (1 << 30, false, "damaged or cut short"),
        (404, false, "damaged or cut short"),
        (u32::MAX - 40, true, "declares"),
        (1 << 30, true, "declares"),
    ] {
        let mut bytes = wav_bytes(1, 2, 48_000, 16, declared, &data);
        if riff_matches {
            bytes[4..8].copy_from_slice(&(declared + 36).to_le_bytes());
        }
        let (outcome, heap) = peak_heap(|| decode_stereo(bytes));
        let message = outcome.err().expect("refused").to_string();
        println!("declares {declared} bytes in a 444-byte file: {message} ({heap} bytes of heap)");
        assert!(message.contains(expected), "{message}");
        assert!(heap < DECODER_FIXED_HEAP, "held {heap} bytes");
    }
    let fine = decode_stereo(wav_bytes(1, 2, 48_000, 16, 400, &data)).expect("a valid file");
    assert_eq!(fine.left.len(), 100);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn wav_headers_of_every_kind_are_refused_or_read_never_panic(
        format in prop_oneof![Just(1u16), Just(3u16), Just(0xFFFEu16), any::<u16>()],
        channels in prop_oneof![Just(2u16), any::<u16>()],
        rate in prop_oneof![Just(48_000u32), Just(0u32), Just(u32::MAX), any::<u32>()],
        bits in prop_oneof![Just(16u16), Just(24u16), Just(32u16), any::<u16>()],
        declared in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        data in prop::collection::vec(any::<u8>(), 0..2048),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = wav_bytes(format, channels, rate, bits, declared.unwrap_or(data.len() as u32), &data);
        for (index, bit) in &flips {
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let bound = WAV_HEAP_PER_BYTE * bytes.len() as u64 + DECODER_FIXED_HEAP;
        let start = Instant::now();
        let (outcome, heap) = peak_heap(|| std::panic::catch_unwind(|| decode_stereo(bytes).map(|_| ())));
        let elapsed = start.elapsed();
        prop_assert!(outcome.is_ok(), "the WAV decoder panicked");
        prop_assert!(heap <= bound, "held {heap} bytes of heap, bound {bound}");
        prop_assert!(elapsed <= TIME_BOUND, "took {elapsed:?}");
    }
}

/// Parameter ids a state may name: every real one, and some that do not exist.
fn param_id() -> impl Strategy<Value = String> {
    let known: Vec<String> = soundstage::params::FLOAT_PARAMS
        .iter()
        .map(|s| s.id.to_string())
        .chain(
            soundstage::params::BOOL_PARAMS
                .iter()
                .map(|s| s.id.to_string()),
        )
        .chain(["mode".to_string()])
        .collect();
    prop_oneof![prop::sample::select(known), "[a-z-]{0,12}"]
}

/// Values of every type, including the numbers no parameter takes.
fn param_value() -> impl Strategy<Value = ParamValue> {
    prop_oneof![
        any::<f32>().prop_map(ParamValue::F32),
        prop_oneof![
            Just(f32::NAN),
            Just(f32::INFINITY),
            Just(1e30f32),
            Just(-1e30f32)
        ]
        .prop_map(ParamValue::F32),
        any::<i32>().prop_map(ParamValue::I32),
        (-2i32..5).prop_map(ParamValue::I32),
        any::<bool>().prop_map(ParamValue::Bool),
        prop_oneof![Just("speakers".to_string()), "[a-z]{0,10}"].prop_map(ParamValue::String),
    ]
}

/// A stored head: half the time with data that matches its counts (random little-endian
/// f32, NaN included), otherwise counts and data that disagree.
fn stored_head() -> impl Strategy<Value = String> {
    let azimuths = prop::collection::vec(prop_oneof![-400.0f64..400.0, any::<f64>()], 0..40);
    (
        any::<bool>(),
        azimuths,
        prop_oneof![1usize..64, any::<usize>()],
        prop_oneof![Just(48_000.0f64), any::<f64>()],
        prop_oneof![Just(1.2f64), any::<f64>()],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(measured, azimuths, taps, rate, radius, consistent, seed)| {
                let values = if consistent {
                    2 * azimuths.len() * taps.min(64)
                } else {
                    (seed % 4096) as usize
                };
                let bytes = random_f32_bytes(values, seed);
                let set = serde_json::json!({
                    "name": "fuzzed",
                    "sample_rate": rate,
                    "radius_m": radius,
                    "azimuths_deg": azimuths,
                    "taps": if consistent { taps.min(64) } else { taps },
                    "irs": base64::engine::general_purpose::STANDARD.encode(&bytes),
                });
                serde_json::json!({ "measured": measured, "set": set }).to_string()
            },
        )
}

/// Bytes of `values` pseudo-random little-endian f32 (NaN and infinities among them).
fn random_f32_bytes(values: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..values * 4)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

/// A stored device chosen for the design (the "device" field): half the time with data that matches its counts,
/// otherwise counts and data that disagree; positions, spacing, rate and the nominal
/// listener anywhere from sensible to absurd.
fn stored_device() -> impl Strategy<Value = String> {
    let number = |sensible: std::ops::Range<f64>| prop_oneof![sensible, any::<f64>()];
    let listener = (number(-0.2..0.2), number(0.1..2.0), number(-30.0..30.0));
    (
        prop_oneof![2usize..5, 0usize..12],
        prop::collection::vec(listener, 0..6),
        prop_oneof![1usize..64, any::<usize>()],
        prop_oneof![Just(48_000.0f64), any::<f64>()],
        number(0.05..0.3),
        prop_oneof![0usize..3, any::<usize>()],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(drivers, listeners, taps, rate, spacing, nominal, consistent, seed)| {
                let taps = if consistent { taps.min(64) } else { taps };
                let values = if consistent {
                    listeners.len() * 2 * drivers * taps
                } else {
                    (seed % 4096) as usize
                };
                let centre = (drivers as f64 - 1.0) / 2.0;
                let device = serde_json::json!({
                    "name": "fuzzed",
                    "convention": "SingleRoomMIMOSRIR",
                    "sample_rate": rate,
                    "spacing_m": spacing,
                    "emitters": (0..drivers).collect::<Vec<_>>(),
                    "driver_x_m": (0..drivers).map(|d| (d as f64 - centre) * spacing).collect::<Vec<_>>(),
                    "listeners": listeners.iter().map(|&(offset, distance, yaw)| serde_json::json!({
                        "offset_m": offset, "distance_m": distance, "yaw_deg": yaw,
                        "delays": [vec![0.0; drivers], vec![0.0; drivers]],
                    })).collect::<Vec<_>>(),
                    "nominal": nominal,
                    "taps": taps,
                    "irs": base64::engine::general_purpose::STANDARD.encode(random_f32_bytes(values, seed)),
                });
                serde_json::json!({ "chosen": true, "device": device }).to_string()
            },
        )
}

/// Loads a state as the plugin does, outside the framework: the document, the migration
/// and checks, the persisted fields, and the head the designer would then serve.
fn load_state(bytes: &[u8]) {
    let Ok(mut state) = serde_json::from_slice::<PluginState>(bytes) else {
        return;
    };
    migrate_state(&mut state);
    if let Some(size) = state.fields.get("editor-size") {
        let _ = serde_json::from_str::<(f32, f32)>(size);
    }
    let head = state
        .fields
        .get("head")
        .map(|h| serde_json::from_str::<HeadChoice>(h));
    let device = state
        .fields
        .get("device")
        .and_then(|d| serde_json::from_str::<DeviceChoice>(d).ok())
        .unwrap_or_default();
    if let Some(Ok(head)) = head {
        let head = head.with_device(device);
        let settings = soundstage::design::config::settings::Settings::default();
        let mut plants = PlantCache::default();
        for drivers in [2, 3] {
            let _ = plants.serving(&head, &settings.geometry(drivers));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plugin_states_of_every_kind_load_or_are_refused_never_panic(
        params in prop::collection::btree_map(param_id(), param_value(), 0..16),
        head in stored_head(),
        device in prop_oneof![Just("null".to_string()), stored_device()],
        size in prop_oneof![Just("[1000,680]".to_string()), "\\[[-0-9e.]{0,8},[-0-9e.]{0,8}\\]"],
        version in prop_oneof![Just("1".to_string()), "[0-9]{0,12}"],
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..3),
    ) {
        let state = PluginState {
            version: "0.1.0".into(),
            params,
            fields: [
                ("head".to_string(), head),
                ("device".to_string(), device),
                ("editor-size".to_string(), size),
                ("state-version".to_string(), version),
            ]
            .into_iter()
            .collect(),
        };
        let mut bytes = serde_json::to_vec(&state).unwrap();
        for (index, bit) in &flips {
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        let bound = 64 * 1024 * 1024;
        let start = Instant::now();
        let (outcome, heap) = peak_heap(|| std::panic::catch_unwind(|| load_state(&bytes)));
        let elapsed = start.elapsed();
        prop_assert!(outcome.is_ok(), "loading the state panicked");
        prop_assert!(heap <= bound, "held {heap} bytes of heap");
        prop_assert!(elapsed <= TIME_BOUND, "took {elapsed:?}");
    }
}
