//! Helpers shared by the integration tests: seeded signals and level measures.
#![allow(dead_code)]

pub mod cli;
pub mod sofa;

use atomic_float::AtomicF64;
use soundstage::design::config::presets::{self, Preset};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::filters::chain::{design, Design, DesignInput};
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::worker::{DesignEvents, DesignJob, DesignWorker};
use soundstage::dsp::engine::Engine;
use soundstage::dsp::handover;
use soundstage::dsp::processor::Processor;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use soundstage::offline::measure::{db, noise, power};

/// Level of `a − b` relative to `b`, dB.
pub fn error_db(a: &[f32], b: &[f32]) -> f64 {
    let err: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    db(power(&err) / power(b))
}

/// A sine at `freq` Hz.
pub fn sine(freq: f64, sample_rate: f64, len: usize, amplitude: f32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / sample_rate).sin() as f32
        })
        .collect()
}

/// Index of the largest absolute value.
pub fn argmax_abs(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or(0, |(i, _)| i)
}

/// The host side of the design parameters, as atomics: what automation writes on the audio
/// thread and the designer thread reads.
#[derive(Default)]
pub struct HostParams {
    /// Bumped on every change that needs a design (the plugin's `design_generation`).
    pub generation: AtomicU64,
    /// Depth, 0 to 1.
    pub depth: AtomicF64,
    /// Cancellation target, dB.
    pub cancellation_db: AtomicF64,
    /// Index into [`Mode::ALL`].
    pub mode: AtomicU64,
    /// Wakes the designer (the plugin's `design_events`).
    pub events: DesignEvents,
}

impl HostParams {
    /// Parameters starting at `settings`' depth and cancellation.
    pub fn new(settings: &Settings) -> Arc<Self> {
        let p = Self::default();
        p.depth.store(settings.depth, Ordering::Relaxed);
        p.cancellation_db
            .store(settings.cancellation_db, Ordering::Relaxed);
        Arc::new(p)
    }

    /// Says that a parameter changed, as the plugin's parameter callbacks do.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.events.notify();
    }

    /// `base` with the automated parameters applied.
    pub fn settings(&self, base: &Settings) -> Settings {
        Settings {
            depth: self.depth.load(Ordering::Relaxed),
            cancellation_db: self.cancellation_db.load(Ordering::Relaxed),
            mode: Mode::ALL[self.mode.load(Ordering::Relaxed) as usize % 3],
            ..*base
        }
    }
}

/// A processor and its designer thread, wired as the plugin's `activate()` wires them.
pub fn activate(
    base: Settings,
    outputs: usize,
    max_block: usize,
    sample_rate: f64,
    params: &Arc<HostParams>,
) -> (Processor, DesignWorker) {
    let plant: Arc<dyn Plant> = Arc::new(SphereHead::default());
    let input = DesignInput {
        settings: params.settings(&base),
        outputs,
        sample_rate,
    };
    let first = design(&input, plant.as_ref());
    let mut engine = Engine::new(Box::new(first.filters), sample_rate, base.controls());
    engine.settle_controls();
    let (designer, audio) = handover::channel();
    let source_params = params.clone();
    let source_plant = plant.clone();
    let worker = DesignWorker::spawn(
        move || DesignJob {
            generation: source_params.generation.load(Ordering::Acquire),
            input: DesignInput {
                settings: source_params.settings(&base),
                outputs,
                sample_rate,
            },
            plant: source_plant.clone(),
            stand_in: None,
        },
        &params.events,
        designer,
        |_| {},
        |why| panic!("the sphere covers every geometry, yet: {why}"),
        DesignJob {
            generation: 0,
            input,
            plant,
            stand_in: None,
        },
    )
    .expect("the designer thread starts");
    (
        Processor::new(engine, audio, max_block, sample_rate),
        worker,
    )
}

/// Counts allocations, reallocations and frees made by threads that asked to be watched, and
/// the heap bytes in use by the whole process. Every call goes on to the system allocator.
struct CountingAllocator;

static EVENTS: AtomicU64 = AtomicU64::new(0);
static IN_USE: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static WATCHED: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread's heap bytes are being measured (see [`peak_heap`]).
    static MEASURED: Cell<bool> = const { Cell::new(false) };
    /// Net heap bytes this thread allocated while measured, and the most it reached.
    static MEASURED_BYTES: Cell<(i64, i64)> = const { Cell::new((0, 0)) };
}

fn note() {
    if WATCHED.with(Cell::get) {
        EVENTS.fetch_add(1, Ordering::Relaxed);
    }
}

fn note_bytes(change: i64) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = MEASURED.try_with(|m| {
        if m.get() {
            let _ = MEASURED_BYTES.try_with(|b| {
                let (now, peak) = b.get();
                b.set((now + change, peak.max(now + change)));
            });
        }
    });
}

/// Counts `size` bytes as taken (or, negative, given back) if the call succeeded.
fn account(ptr: *mut u8, size: i64) -> *mut u8 {
    if !ptr.is_null() {
        note_bytes(size);
        IN_USE.fetch_add(size, Ordering::Relaxed);
    }
    ptr
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        account(unsafe { System.alloc(layout) }, layout.size() as i64)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        note_bytes(-(layout.size() as i64));
        IN_USE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        account(unsafe { System.alloc_zeroed(layout) }, layout.size() as i64)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        let grown = new_size as i64 - layout.size() as i64;
        account(unsafe { System.realloc(ptr, layout, new_size) }, grown)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` with this thread's allocations counted; returns how many there were.
pub fn counted(f: impl FnOnce()) -> u64 {
    let before = EVENTS.load(Ordering::Relaxed);
    WATCHED.with(|w| w.set(true));
    f();
    WATCHED.with(|w| w.set(false));
    EVENTS.load(Ordering::Relaxed) - before
}

/// Runs `f` on this thread; returns its result and the most heap bytes it held at once
/// (what it allocated and had not yet freed), so that a test can bound what an input costs.
pub fn peak_heap<R>(f: impl FnOnce() -> R) -> (R, u64) {
    MEASURED_BYTES.with(|b| b.set((0, 0)));
    MEASURED.with(|m| m.set(true));
    let result = f();
    MEASURED.with(|m| m.set(false));
    (result, MEASURED_BYTES.with(Cell::get).1.max(0) as u64)
}

/// Heap bytes in use by the whole process right now.
pub fn heap_in_use() -> i64 {
    IN_USE.load(Ordering::Relaxed)
}

/// The design for `settings` at 48 kHz on the built-in sphere.
pub fn design_for(settings: Settings, outputs: usize) -> Design {
    design(
        &DesignInput {
            settings,
            outputs,
            sample_rate: 48_000.0,
        },
        &SphereHead::default(),
    )
}

/// The presets that drive loudspeakers (every one but headphones).
pub fn speaker_presets() -> Vec<Preset> {
    presets::all()
        .into_iter()
        .filter(|p| p.mode == Mode::Speakers)
        .collect()
}
