//! Soundstage in a CLAP host of our own (clack-host): loads the built plugin, checks its
//! identity, selects each output layout, activates at several sample rates, processes blocks
//! of varying size with parameter events, measures latency against an impulse, saves and
//! restores state, loads state from an older layout, and automates width at audio rate.
//!
//! The plugin is `CLAP_PLUGIN_PATH` when set (the README's test command points it at
//! `target/bundled/Soundstage.clap`), otherwise the cdylib this `cargo test` built. Built
//! with `--features assert_process_allocs` in a debug build, every `process()` call here is
//! also checked for allocations by the framework (a violation aborts the test).

// Only the SOFA writer of the shared test helpers: the rest installs a counting global
// allocator, which a build with `assert_process_allocs` (whose own allocator checks the
// plugin) must not have twice.
// Shared helpers: this file uses some of them.
#[allow(dead_code)]
#[path = "common/sofa.rs"]
mod sofa;

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use clack_extensions::audio_ports::{
    AudioPortFlags, AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl,
    PluginAudioPorts,
};
use clack_extensions::audio_ports_config::{
    AudioPortsConfigBuffer, HostAudioPortsConfig, HostAudioPortsConfigImpl, PluginAudioPortsConfig,
};
use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::events::EventFlags;
use clack_host::prelude::*;

// ------------------------------------------------------------------------------------------------
// Host callbacks (clack-host 0.2: `HostHandlers` + one handler type per CLAP thread class)
// ------------------------------------------------------------------------------------------------

/// The host "type". clack never instantiates it; it only ties the three handler types together
/// and declares which host-side extensions the plugin can query via `clap_host::get_extension`.
struct TestHost;

impl HostHandlers for TestHost {
    /// Thread-safe part (`Send + Sync`), alive for the whole instance.
    type Shared<'a> = TestShared;
    /// Main-thread-only part. May borrow the shared part for `'a`.
    type MainThread<'a> = TestMainThread<'a>;
    /// Created in `activate()`, lives on the audio thread. `()` is fine for a test.
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        // Each `register::<E>()` requires the matching `*Impl` trait on the handler types below.
        // nice-plug queries latency + params (+ gui/track-info/voice-info/thread-check) in
        // `init()`; without `HostLatency` it just logs a debug warning on latency changes.
        builder
            .register::<HostAudioPorts>()
            .register::<HostAudioPortsConfig>()
            .register::<HostLatency>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostGui>();
    }
}

/// Thread-safe host state. Plugin requests from any thread just set flags here.
#[derive(Default)]
struct TestShared {
    callback_requested: AtomicBool,
    restart_requested: AtomicBool,
    process_requested: AtomicBool,
    flush_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for TestShared {
    // `initializing(&self, InitializingPluginHandle<'a>)` has a default impl; override it to
    // grab plugin extensions as early as possible (the cpal example does that).

    fn request_restart(&self) {
        // nice-plug calls this e.g. when latency changes while active.
        self.restart_requested.store(true, Ordering::SeqCst);
    }

    fn request_process(&self) {
        self.process_requested.store(true, Ordering::SeqCst);
    }

    fn request_callback(&self) {
        // nice-plug uses this to run queued GUI/main-thread tasks. The host must answer by
        // calling `PluginInstance::call_on_main_thread_callback()` *on the main thread*.
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// A host window that takes whatever size the editor asks for (the test's parent window is
/// larger than any size the editor can have).
impl HostGuiImpl for TestShared {
    fn resize_hints_changed(&self) {}

    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }

    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn closed(&self, _was_destroyed: bool) {}
}

impl HostParamsImplShared for TestShared {
    fn request_flush(&self) {
        self.flush_requested.store(true, Ordering::SeqCst);
    }
}

/// Main-thread host state. clack 0.2 only ever hands out `&self` (reentrancy!), so anything
/// mutable needs `Cell`/`RefCell`.
struct TestMainThread<'a> {
    _shared: &'a TestShared,
    latency_changed: Cell<u32>,
    params_rescanned: Cell<u32>,
    state_dirty: Cell<bool>,
    audio_ports_rescanned: Cell<u32>,
}

impl<'a> TestMainThread<'a> {
    fn new(shared: &'a TestShared) -> Self {
        Self {
            _shared: shared,
            latency_changed: Cell::new(0),
            params_rescanned: Cell::new(0),
            state_dirty: Cell::new(false),
            audio_ports_rescanned: Cell::new(0),
        }
    }
}

impl<'a> MainThreadHandler<'a> for TestMainThread<'a> {
    // `initialized(&self, InitializedPluginHandle<'a>)` has a default impl.
}

impl HostLatencyImpl for TestMainThread<'_> {
    fn changed(&self) {
        self.latency_changed.set(self.latency_changed.get() + 1);
    }
}

impl HostParamsImplMainThread for TestMainThread<'_> {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.params_rescanned.set(self.params_rescanned.get() + 1);
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for TestMainThread<'_> {
    fn mark_dirty(&self) {
        self.state_dirty.set(true);
    }
}

impl HostAudioPortsImpl for TestMainThread<'_> {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        true
    }

    fn rescan(&self, _flags: AudioPortRescanFlags) {
        self.audio_ports_rescanned
            .set(self.audio_ports_rescanned.get() + 1);
    }
}

impl HostAudioPortsConfigImpl for TestMainThread<'_> {
    fn rescan(&self) {}
}

// ------------------------------------------------------------------------------------------------
// Loading / instantiation helpers
// ------------------------------------------------------------------------------------------------

/// Cargo package name of the plugin crate (`[lib] crate-type = ["cdylib", "lib"]`).
const LIB_NAME: &str = "soundstage";
/// What `cargo xtask bundle` produces under `target/bundled/`.
const BUNDLE_NAME: &str = "Soundstage.clap";

/// Resolution order:
/// 1. `CLAP_PLUGIN_PATH` (relative paths are relative to the package root: `cargo test` runs
///    integration tests with the package root as working directory);
/// 2. the cdylib that this very `cargo test` invocation built next to the test binary
///    (`target/<profile>/deps/libsoundstage.so`): on Linux the `.clap` is exactly this file
///    renamed, and it can never be stale;
/// 3. `target/bundled/Soundstage.clap` from `cargo xtask bundle`.
fn plugin_path() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("CLAP_PLUGIN_PATH") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let deps_dir = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.to_path_buf()));
            let cdylib = format!(
                "{}{}{}",
                std::env::consts::DLL_PREFIX,
                LIB_NAME.replace('-', "_"),
                std::env::consts::DLL_SUFFIX
            );
            deps_dir
                .map(|d| d.join(cdylib))
                .into_iter()
                .chain([PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("target/bundled")
                    .join(BUNDLE_NAME)])
                .collect()
        }
    };
    let path = candidates.iter().find(|p| p.exists()).unwrap_or_else(|| {
        panic!(
            "no CLAP plugin found (tried {candidates:?}); build it (`cargo xtask bundle {LIB_NAME}`) \
             or set CLAP_PLUGIN_PATH"
        )
    });
    eprintln!("loading CLAP plugin from {}", path.display());
    // Absolute path: dlopen() of a name without '/' searches LD_LIBRARY_PATH etc. instead of
    // the working directory; the path is also passed to the plugin's `clap_entry.init()`.
    path.canonicalize().expect("canonicalize plugin path")
}

/// Loads the entry and returns it with the id of the plugin to test.
fn load_entry() -> (PluginEntry, CString) {
    let path = plugin_path();
    // SAFETY: loading a foreign shared library runs arbitrary code; we trust our own build.
    let entry = unsafe { PluginEntry::load(&path) }
        .unwrap_or_else(|e| panic!("failed to load {}: {e}", path.display()));

    let factory = entry
        .get_plugin_factory()
        .expect("entry has no plugin factory");
    let ids: Vec<CString> = factory
        .plugin_descriptors()
        .filter_map(|d| d.id().map(CStr::to_owned))
        .collect();
    assert!(!ids.is_empty(), "plugin factory lists no plugins");

    let id = match std::env::var("CLAP_PLUGIN_ID") {
        Ok(wanted) => {
            let wanted = CString::new(wanted).unwrap();
            assert!(ids.contains(&wanted), "{wanted:?} not in {ids:?}");
            wanted
        }
        Err(_) => ids[0].clone(),
    };
    (entry, id)
}

/// The entry is loaded once per test process and kept in a `static`, i.e. never dropped, so the
/// library is never `dlclose`d. When the last `PluginEntry` handle drops, clack calls
/// `clap_entry.deinit()` and unloads the `.so`; a thread that already ran plugin code can then
/// still hold TLS destructors registered by the plugin's own copy of std (likely e.g. from
/// nice-plug's `thread::current()` main-thread check) that point into the unmapped library, and
/// it crashes with SIGSEGV in `__nptl_deallocate_tsd` when it exits. (Observed in ~50% of
/// parallel runs in which two tests failed; 0/20 with this static. DAWs don't unload either.)
fn shared_entry() -> &'static (PluginEntry, CString) {
    static ENTRY: OnceLock<(PluginEntry, CString)> = OnceLock::new();
    ENTRY.get_or_init(load_entry)
}

fn instantiate(entry: &PluginEntry, id: &CStr) -> PluginInstance<TestHost> {
    let host_info = HostInfo::new(
        "clack-test-host",
        "soundstage",
        "https://example.invalid",
        "0.1.0",
    )
    .unwrap();
    PluginInstance::<TestHost>::new(
        |_| TestShared::default(),
        |shared| TestMainThread::new(shared),
        entry,
        id,
        &host_info,
    )
    .expect("plugin instantiation (create_plugin + init) failed")
}

/// Runs queued main-thread work that the plugin asked for via `request_callback`.
fn pump_main_thread(instance: &mut PluginInstance<TestHost>) {
    while instance.access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst)) {
        instance.call_on_main_thread_callback();
    }
}

/// Plugin-side extension handles. They are `Copy` but bound to *one* instance: using one with
/// another instance's handle panics ("mismatched instance"), so query them per instance.
#[derive(Clone, Copy)]
struct Exts {
    audio_ports: Option<PluginAudioPorts>,
    ports_config: Option<PluginAudioPortsConfig>,
    latency: Option<PluginLatency>,
    params: Option<PluginParams>,
    state: Option<PluginState>,
}

fn exts(instance: &mut PluginInstance<TestHost>) -> Exts {
    let h = instance.plugin_handle();
    Exts {
        audio_ports: h.get_extension(),
        ports_config: h.get_extension(),
        latency: h.get_extension(),
        params: h.get_extension(),
        state: h.get_extension(),
    }
}

// ------------------------------------------------------------------------------------------------
// Audio ports / configs / params queries (all main thread)
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct PortLayout {
    /// Channel count per input port, in port order.
    inputs: Vec<u32>,
    /// Channel count per output port, in port order.
    outputs: Vec<u32>,
    main_output: Option<usize>,
}

fn port_layout(instance: &mut PluginInstance<TestHost>, ports: PluginAudioPorts) -> PortLayout {
    let h = instance.plugin_handle();
    let mut buf = AudioPortInfoBuffer::new();
    let mut layout = PortLayout {
        inputs: vec![],
        outputs: vec![],
        main_output: None,
    };
    for is_input in [true, false] {
        for index in 0..ports.count(&h, is_input) {
            let info = ports
                .get(&h, index, is_input, &mut buf)
                .unwrap_or_else(|| panic!("audio_ports.get({index}, {is_input}) failed"));
            if is_input {
                layout.inputs.push(info.channel_count);
            } else {
                if info.flags.contains(AudioPortFlags::IS_MAIN) {
                    layout.main_output = Some(layout.outputs.len());
                }
                layout.outputs.push(info.channel_count);
            }
        }
    }
    layout
}

#[derive(Debug, Clone)]
struct PortsConfig {
    id: ClapId,
    name: String,
    main_input_channels: Option<u32>,
    main_output_channels: Option<u32>,
}

fn ports_configs(
    instance: &mut PluginInstance<TestHost>,
    ext: PluginAudioPortsConfig,
) -> Vec<PortsConfig> {
    let h = instance.plugin_handle();
    let mut buf = AudioPortsConfigBuffer::new();
    (0..ext.count(&h))
        .map(|i| {
            let c = ext
                .get(&h, i, &mut buf)
                .expect("audio_ports_config.get failed");
            PortsConfig {
                id: c.id,
                name: String::from_utf8_lossy(c.name).into_owned(),
                main_input_channels: c.main_input.map(|p| p.channel_count),
                main_output_channels: c.main_output.map(|p| p.channel_count),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct ParamDesc {
    id: ClapId,
    name: String,
    min: f64,
    max: f64,
    default: f64,
    flags: ParamInfoFlags,
}

fn list_params(instance: &mut PluginInstance<TestHost>, params: PluginParams) -> Vec<ParamDesc> {
    let h = instance.plugin_handle();
    let mut buf = ParamInfoBuffer::new();
    (0..params.count(&h))
        .map(|i| {
            let info = params
                .get_info(&h, i, &mut buf)
                .expect("params.get_info failed");
            ParamDesc {
                id: info.id,
                name: String::from_utf8_lossy(info.name).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
                flags: info.flags,
            }
        })
        .collect()
}

fn param_values(
    instance: &mut PluginInstance<TestHost>,
    params: PluginParams,
    descs: &[ParamDesc],
) -> Vec<f64> {
    let h = instance.plugin_handle();
    descs
        .iter()
        .map(|d| {
            params
                .get_value(&h, d.id)
                .unwrap_or_else(|| panic!("get_value({})", d.name))
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Processing: a job is a stereo input, a list of block sizes and parameter events; the audio
// thread runs it like a DAW would and returns every output channel.
// ------------------------------------------------------------------------------------------------

const MAX_FRAMES: u32 = 4096;

/// What the audio thread plays through the plugin.
struct Job {
    /// Stereo input, both channels the same length.
    input: [Vec<f32>; 2],
    /// Block sizes, cycled until the input is consumed.
    blocks: Vec<usize>,
    /// Parameter changes: (sample index, parameter id, host value), sorted by time.
    events: Vec<(usize, ClapId, f64)>,
    /// Whether blocks are paced at the sample rate, as a live host calls them (the designer
    /// thread then sees parameter changes in the same wall-clock time a listener would).
    realtime: bool,
}

/// Activates at `sample_rate`, runs `job` on an audio thread, deactivates. Returns the latency
/// the plugin reported while active and the outputs (one Vec per main-output channel).
fn run_job(
    instance: &mut PluginInstance<TestHost>,
    exts: Exts,
    layout: &PortLayout,
    sample_rate: f64,
    job: &Job,
) -> (u32, Vec<Vec<f32>>) {
    let config = PluginAudioConfiguration {
        sample_rate,
        min_frames_count: 1,
        max_frames_count: MAX_FRAMES,
    };
    let processor = instance
        .activate(|_shared, _main_thread| (), config)
        .unwrap_or_else(|e| panic!("activate({sample_rate}) failed: {e}"));
    pump_main_thread(instance);
    let latency = exts
        .latency
        .expect("latency extension")
        .get(&instance.plugin_handle());
    let (stopped, outputs) = std::thread::scope(|s| {
        let audio = s.spawn(move || audio_thread(processor, layout, sample_rate, job));
        while !audio.is_finished() {
            pump_main_thread(instance);
            std::thread::sleep(Duration::from_millis(1));
        }
        audio
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    instance.deactivate(stopped);
    pump_main_thread(instance);
    (latency, outputs)
}

fn audio_thread(
    processor: StoppedPluginAudioProcessor<TestHost>,
    layout: &PortLayout,
    sample_rate: f64,
    job: &Job,
) -> (StoppedPluginAudioProcessor<TestHost>, Vec<Vec<f32>>) {
    let mut processor = processor
        .start_processing()
        .expect("start_processing failed");
    let alloc = |ports: &[u32]| -> Vec<Vec<Vec<f32>>> {
        ports
            .iter()
            .map(|&ch| vec![vec![0.0f32; MAX_FRAMES as usize]; ch as usize])
            .collect()
    };
    let mut in_bufs = alloc(&layout.inputs);
    let mut out_bufs = alloc(&layout.outputs);
    let total = |ports: &[u32]| ports.iter().sum::<u32>() as usize;
    let mut in_ports = AudioPorts::with_capacity(total(&layout.inputs), layout.inputs.len());
    let mut out_ports = AudioPorts::with_capacity(total(&layout.outputs), layout.outputs.len());
    let mut in_events = EventBuffer::with_capacity(64);
    let mut out_events = EventBuffer::with_capacity(256);
    let main_out = layout.main_output.expect("main output port");
    let len = job.input[0].len();
    let mut outputs = vec![Vec::with_capacity(len); layout.outputs[main_out] as usize];
    let mut pos = 0usize;
    let mut next_event = 0usize;
    let mut block_no = 0usize;
    let started = std::time::Instant::now();
    while pos < len {
        let n = job.blocks[block_no % job.blocks.len()]
            .min(len - pos)
            .min(MAX_FRAMES as usize);
        block_no += 1;
        for (c, ch) in in_bufs[0].iter_mut().enumerate() {
            ch[..n].copy_from_slice(&job.input[c][pos..pos + n]);
        }
        for port in out_bufs.iter_mut() {
            for ch in port.iter_mut() {
                ch[..n].fill(f32::NAN);
            }
        }
        in_events.clear();
        out_events.clear();
        while next_event < job.events.len() && job.events[next_event].0 < pos + n {
            let (at, id, value) = job.events[next_event];
            in_events.push(
                &ParamValueEvent::new((at - pos) as u32, id, Pckn::match_all(), value)
                    .with_flags(EventFlags::empty()),
            );
            next_event += 1;
        }
        {
            let ins = in_ports.with_input_buffers(in_bufs.iter_mut().map(|port| {
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        port.iter_mut()
                            .map(|ch| InputChannel::variable(&mut ch[..n])),
                    ),
                }
            }));
            let mut outs =
                out_ports.with_output_buffers(out_bufs.iter_mut().map(|port| AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(
                        port.iter_mut().map(|ch| &mut ch[..n]),
                    ),
                }));
            processor
                .process(
                    &ins,
                    &mut outs,
                    &in_events.as_input(),
                    &mut out_events.as_output(),
                    Some(pos as u64),
                    None,
                )
                .unwrap_or_else(|e| panic!("process(block {block_no}, {n} frames) failed: {e}"));
        }
        for (c, ch) in out_bufs[main_out].iter().enumerate() {
            for (i, &s) in ch[..n].iter().enumerate() {
                assert!(
                    s.is_finite(),
                    "non-finite output {s} at {sample_rate} Hz, sample {} channel {c}",
                    pos + i
                );
            }
            outputs[c].extend_from_slice(&ch[..n]);
        }
        pos += n;
        if job.realtime {
            let due = Duration::from_secs_f64(pos as f64 / sample_rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    (processor.stop_processing(), outputs)
}

/// A loaded, instantiated plugin with its extensions, ports configs and parameters.
struct Session {
    instance: PluginInstance<TestHost>,
    exts: Exts,
    configs: Vec<PortsConfig>,
    params: Vec<ParamDesc>,
}

impl Session {
    fn new() -> Self {
        let (entry, id) = shared_entry();
        let mut instance = instantiate(entry, id);
        let exts = exts(&mut instance);
        let configs = ports_configs(
            &mut instance,
            exts.ports_config.expect("audio-ports-config extension"),
        );
        let params = list_params(&mut instance, exts.params.expect("params extension"));
        Self {
            instance,
            exts,
            configs,
            params,
        }
    }

    /// The parameter with this name (CLAP exposes names; ids are hashes of our string ids).
    fn param(&self, name: &str) -> ParamDesc {
        self.params
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    /// Selects the layout with `outputs` main outputs and returns its ports.
    fn select(&mut self, outputs: u32) -> PortLayout {
        let config = self
            .configs
            .iter()
            .find(|c| c.main_output_channels == Some(outputs))
            .unwrap_or_else(|| panic!("no {outputs}-output config"))
            .clone();
        self.exts
            .ports_config
            .unwrap()
            .select(&self.instance.plugin_handle(), config.id)
            .expect("select config");
        pump_main_thread(&mut self.instance);
        port_layout(
            &mut self.instance,
            self.exts.audio_ports.expect("audio-ports extension"),
        )
    }

    fn run(&mut self, layout: &PortLayout, sample_rate: f64, job: &Job) -> (u32, Vec<Vec<f32>>) {
        run_job(&mut self.instance, self.exts, layout, sample_rate, job)
    }

    fn values(&mut self) -> Vec<f64> {
        let params = self.exts.params.unwrap();
        let descs = self.params.clone();
        param_values(&mut self.instance, params, &descs)
    }
}

/// The value the host sends for `plain` on the parameter named `name`: nice-plug exposes
/// continuous parameters normalised to 0..1 and stepped ones (switches, the mode) as step
/// indices.
fn clap_value(name: &str, plain: f64) -> f64 {
    match soundstage::params::FLOAT_PARAMS
        .iter()
        .find(|s| s.name == name)
    {
        Some(spec) => spec.range().normalize(plain as f32) as f64,
        None => plain,
    }
}

/// The plain value of a host value (inverse of [`clap_value`]).
fn plain_value(name: &str, value: f64) -> f64 {
    match soundstage::params::FLOAT_PARAMS
        .iter()
        .find(|s| s.name == name)
    {
        Some(spec) => spec.range().unnormalize(value as f32) as f64,
        None => value,
    }
}

/// The latency the engine reports at `sample_rate` (its frame layout scales with the rate).
fn expected_latency(sample_rate: f64) -> u32 {
    soundstage::design::filterset::FrameLayout::for_sample_rate(sample_rate).latency() as u32
}

fn sine(freq: f64, sample_rate: f64, len: usize, amplitude: f32) -> Vec<f32> {
    (0..len)
        .map(|i| amplitude * (std::f64::consts::TAU * freq * i as f64 / sample_rate).sin() as f32)
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

#[test]
fn identity_and_extensions() {
    let (entry, _) = shared_entry();
    let factory = entry.get_plugin_factory().expect("plugin factory");
    let descriptors: Vec<_> = factory.plugin_descriptors().collect();
    assert_eq!(descriptors.len(), 1);
    let d = descriptors[0];
    assert_eq!(
        d.id().unwrap().to_str().unwrap(),
        "audio.soundstage.spatial"
    );
    assert_eq!(d.name().unwrap().to_str().unwrap(), "Soundstage");
    let features: Vec<String> = d
        .features()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for wanted in ["audio-effect", "stereo", "surround", "soundstage:spatial"] {
        assert!(
            features.iter().any(|f| f == wanted),
            "feature {wanted} missing from {features:?}"
        );
    }
    let session = Session::new();
    assert!(session.exts.state.is_some());
    let names: Vec<&str> = session.params.iter().map(|p| p.name.as_str()).collect();
    for wanted in [
        "Width",
        "Depth",
        "Cancellation",
        "Mode",
        "Driver spacing",
        "Listening distance",
        "Virtual angle",
        "Listener offset",
        "Bass crossover",
        "Boost limit",
        "Output gain",
        "Loudness match",
        "Bypass",
        "Headphone preview",
    ] {
        assert!(
            names.contains(&wanted),
            "parameter {wanted} missing from {names:?}"
        );
    }
    for spec in &soundstage::params::FLOAT_PARAMS {
        let p = session.param(spec.name);
        assert!(
            (p.default - clap_value(spec.name, spec.default as f64)).abs() < 1e-6,
            "{} default",
            spec.name
        );
        assert_eq!(
            (p.min, p.max),
            (0.0, 1.0),
            "{} is exposed normalised",
            spec.name
        );
        assert!(
            p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
            "{} is automatable",
            spec.name
        );
    }
    assert!(
        session
            .param("Bypass")
            .flags
            .contains(ParamInfoFlags::IS_BYPASS),
        "the host's bypass is ours"
    );
    assert_eq!(session.param("Mode").max, 2.0, "three modes");
    let layouts: Vec<(String, Option<u32>)> = session
        .configs
        .iter()
        .map(|c| (c.name.clone(), c.main_input_channels))
        .collect();
    assert_eq!(
        layouts,
        vec![
            ("Stereo".to_string(), Some(2)),
            ("Stereo to L/C/R line".to_string(), Some(2)),
            ("Stereo to 4-driver line".to_string(), Some(2))
        ]
    );
}

#[test]
fn every_layout_and_rate_processes_varying_blocks_with_events() {
    let mut session = Session::new();
    let offered: Vec<u32> = session
        .configs
        .iter()
        .filter_map(|c| c.main_output_channels)
        .collect();
    assert_eq!(offered, vec![2, 3, 4], "output layouts offered");
    let width = session.param("Width");
    let depth = session.param("Depth");
    let mode = session.param("Mode");
    let blocks = vec![
        1, 2, 3, 4096, 7, 64, 100, 1, 128, 255, 256, 480, 512, 1000, 1024, 2047, 2048, 4095, 13,
        4096,
    ];
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        assert_eq!(layout.inputs, vec![2], "stereo input");
        assert_eq!(layout.outputs[layout.main_output.unwrap()], outputs);
        for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
            let len = 30_000;
            let job = Job {
                input: [
                    sine(220.0, sample_rate, len, 0.4),
                    sine(330.0, sample_rate, len, 0.3),
                ],
                blocks: blocks.clone(),
                events: vec![
                    (1000, width.id, clap_value("Width", 35.0)),
                    (5000, depth.id, clap_value("Depth", 90.0)),
                    (9000, mode.id, 1.0),
                    (20_000, width.id, clap_value("Width", 77.0)),
                ],
                realtime: false,
            };
            let (latency, out) = session.run(&layout, sample_rate, &job);
            assert_eq!(
                latency,
                expected_latency(sample_rate),
                "{outputs} outputs at {sample_rate} Hz"
            );
            assert_eq!(out.len(), outputs as usize);
            let energy: f32 = out.iter().flatten().map(|v| v * v).sum();
            assert!(
                energy > 1.0,
                "{outputs} outputs at {sample_rate} Hz: silent output"
            );
            let values = session.values();
            let i = session
                .params
                .iter()
                .position(|p| p.id == width.id)
                .unwrap();
            assert!(
                (plain_value("Width", values[i]) - 77.0).abs() < 1e-3,
                "the last width event took effect"
            );
        }
    }
}

#[test]
fn reported_latency_is_the_delay_of_an_impulse() {
    let mut session = Session::new();
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        for sample_rate in [44_100.0, 48_000.0] {
            // A one-sided impulse: on a driver line the centre driver is delayed further so that
            // it reaches the listener with the outer ones, which carry the sides.
            let mut left = vec![0.0f32; 8192];
            left[100] = 1.0;
            let job = Job {
                input: [left, vec![0.0; 8192]],
                blocks: vec![256],
                events: vec![],
                realtime: false,
            };
            let (latency, out) = session.run(&layout, sample_rate, &job);
            let sum: Vec<f32> = (0..out[0].len())
                .map(|i| out.iter().map(|o| o[i].abs()).sum())
                .collect();
            let peak = (0..sum.len())
                .max_by(|&a, &b| sum[a].total_cmp(&sum[b]))
                .unwrap();
            assert_eq!(
                peak as u32 - 100,
                latency,
                "{outputs} outputs at {sample_rate} Hz"
            );
        }
    }
}

#[test]
fn state_round_trips_into_a_fresh_instance() {
    let mut a = Session::new();
    let defaults = a.values();
    let changes: Vec<(String, f64)> = vec![
        ("Width".into(), 42.0),
        ("Depth".into(), 77.0),
        ("Cancellation".into(), 13.5),
        ("Mode".into(), 2.0),
        ("Driver spacing".into(), 16.0),
        ("Listening distance".into(), 2.0),
        ("Virtual angle".into(), 35.0),
        ("Listener offset".into(), -7.5),
        ("Bass crossover".into(), 150.0),
        ("Boost limit".into(), 12.0),
        ("Output gain".into(), -3.5),
        ("Loudness match".into(), 0.0),
    ];
    let events: Vec<ParamValueEvent> = changes
        .iter()
        .map(|(name, v)| {
            ParamValueEvent::new(0, a.param(name).id, Pckn::match_all(), clap_value(name, *v))
        })
        .collect();
    {
        let params = a.exts.params.unwrap();
        let mut inactive = a.instance.inactive_plugin_handle().expect("inactive");
        params.flush(
            &mut inactive,
            &InputEvents::from_buffer(&events),
            &mut OutputEvents::void(),
        );
    }
    pump_main_thread(&mut a.instance);
    let values_a = a.values();
    for (name, v) in &changes {
        let i = a.params.iter().position(|p| &p.name == name).unwrap();
        assert!(
            (plain_value(name, values_a[i]) - v).abs() < 1e-3,
            "{name}: {} after flush",
            plain_value(name, values_a[i])
        );
        assert!(
            (values_a[i] - defaults[i]).abs() > 1e-6,
            "{name}: the change must differ from the default"
        );
    }
    let mut saved = Vec::new();
    a.exts
        .state
        .unwrap()
        .save(&a.instance.plugin_handle(), &mut saved)
        .expect("state save");

    let mut b = Session::new();
    b.exts
        .state
        .unwrap()
        .load(&b.instance.plugin_handle(), &mut Cursor::new(&saved))
        .expect("state load");
    pump_main_thread(&mut b.instance);
    let values_b = b.values();
    for (d, (x, y)) in a.params.iter().zip(values_a.iter().zip(&values_b)) {
        assert!((x - y).abs() < 1e-6, "{}: {x} saved, {y} restored", d.name);
    }
    // The restored state is complete: saving it again gives the same bytes.
    let mut again = Vec::new();
    b.exts
        .state
        .unwrap()
        .save(&b.instance.plugin_handle(), &mut again)
        .expect("state save");
    assert_eq!(
        String::from_utf8_lossy(&saved[8..]),
        String::from_utf8_lossy(&again[8..])
    );
    let json: serde_json::Value =
        serde_json::from_slice(&saved[8..]).expect("state is JSON after its length");
    assert_eq!(json["fields"]["state-version"], "1");
    assert!(
        json["fields"]["editor-size"].is_string(),
        "editor size is part of the state"
    );
}

/// A state as the plugin wrote it before later parameters and fields existed: every value it
/// holds must load, and what it lacks must stay at its default.
#[test]
fn state_from_an_older_layout_loads_without_losing_values() {
    let fixture = include_str!("fixtures/state-v1-early.json");
    let mut blob = (fixture.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(fixture.as_bytes());
    let mut s = Session::new();
    let defaults = s.values();
    s.exts
        .state
        .unwrap()
        .load(&s.instance.plugin_handle(), &mut Cursor::new(&blob))
        .expect("older state loads");
    pump_main_thread(&mut s.instance);
    let values = s.values();
    let expect = [
        ("Width", 64.0),
        ("Depth", 20.0),
        ("Cancellation", 17.0),
        ("Mode", 1.0),
        ("Driver spacing", 30.0),
        ("Listening distance", 0.5),
        ("Virtual angle", 40.0),
    ];
    for (name, v) in expect {
        let i = s.params.iter().position(|p| p.name == name).unwrap();
        assert!(
            (plain_value(name, values[i]) - v).abs() < 1e-3,
            "{name}: {} loaded, {v} stored",
            plain_value(name, values[i])
        );
    }
    for name in ["Boost limit", "Loudness match"] {
        let i = s.params.iter().position(|p| p.name == name).unwrap();
        assert_eq!(
            values[i], defaults[i],
            "{name} was not in the old state and keeps its default"
        );
    }
    let mut saved = Vec::new();
    s.exts
        .state
        .unwrap()
        .save(&s.instance.plugin_handle(), &mut saved)
        .expect("state save");
    let json: serde_json::Value = serde_json::from_slice(&saved[8..]).unwrap();
    assert_eq!(
        json["fields"]["state-version"], "1",
        "the migrated state carries the current layout version"
    );
    assert_eq!(
        json["fields"]["editor-size"], "[820.0,560.0]",
        "the old editor size is kept"
    );
}

/// Random automation of every parameter at random block sizes, on every layout: the output
/// stays finite, and in a debug build with `assert_process_allocs` the framework aborts on any
/// allocation inside `process()` (the README's test command runs this file that way too).
#[test]
fn random_automation_at_random_block_sizes_on_every_layout() {
    use rand::{RngExt, SeedableRng};
    let mut session = Session::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let params: Vec<ParamDesc> = session.params.clone();
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        let len = 5 * 48_000;
        let blocks: Vec<usize> = (0..300)
            .map(|_| match rng.random_range(0..8) {
                0 => 1,
                1 => rng.random_range(1..32),
                _ => rng.random_range(32..=MAX_FRAMES as usize),
            })
            .collect();
        let mut events: Vec<(usize, ClapId, f64)> = (0..400)
            .map(|_| {
                let p = &params[rng.random_range(0..params.len())];
                let value = if p.max > 1.0 {
                    rng.random_range(0..=p.max as u32) as f64
                } else {
                    rng.random_range(p.min..=p.max)
                };
                (rng.random_range(0..len), p.id, value)
            })
            .collect();
        events.sort_by_key(|e| e.0);
        let job = Job {
            input: [
                sine(220.0, 48_000.0, len, 0.4),
                sine(330.0, 48_000.0, len, 0.3),
            ],
            blocks,
            events,
            realtime: false,
        };
        let (latency, out) = session.run(&layout, 48_000.0, &job);
        assert_eq!(latency, expected_latency(48_000.0), "latency moved");
        assert_eq!(out[0].len(), len);
    }
}

/// Largest sample-to-sample step of a signal.
fn max_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// Energy per third-octave band between `lo` and `hi` Hz of a Hann-windowed segment.
fn band_energies(x: &[f32], sample_rate: f64, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let n = x.len();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut t: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()))
        .collect();
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    let centres: Vec<f64> = (-10..=13)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .filter(|&f| f >= lo && f <= hi)
        .collect();
    centres
        .into_iter()
        .map(|fc| {
            let (a, b) = (fc * 2f64.powf(-1.0 / 6.0), fc * 2f64.powf(1.0 / 6.0));
            let energy = s
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    let f = *k as f64 * sample_rate / n as f64;
                    f >= a && f < b
                })
                .map(|(_, v)| v.norm_sqr())
                .sum::<f64>();
            (fc, energy)
        })
        .collect()
}

/// A 440 Hz tone at −12 dBFS on a noise floor at −100 dBFS RMS (16-bit dither is −101 dBFS;
/// real programme is noisier): the steady-state floor that automation must not lift.
fn tone_on_a_floor(len: usize) -> [Vec<f32>; 2] {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let floor = 10f32.powf(-100.0 / 20.0);
    let tone = sine(440.0, 48_000.0, len, 0.25);
    std::array::from_fn(|c| {
        tone.iter()
            .map(|v| {
                let n: f64 = StandardNormal.sample(&mut rng);
                (if c == 0 { *v } else { 0.6 * v }) + floor * n as f32
            })
            .collect()
    })
}

/// Click figures of `automated` against the steady states it moves between: the largest step
/// relative to the largest steady step, and the worst band (2–20 kHz, far from the tone: a
/// click is broadband, a smooth level change is not) relative to the louder steady floor, dB.
fn click_figures(
    automated: &[Vec<f32>],
    steady: &[&[Vec<f32>]],
    range: std::ops::Range<usize>,
) -> (f32, f64) {
    let mut step_ratio = 0.0f32;
    let mut band_excess = f64::NEG_INFINITY;
    for (c, out) in automated.iter().enumerate() {
        let steady_step = steady
            .iter()
            .map(|s| max_step(&s[c][range.clone()]))
            .fold(0.0, f32::max);
        step_ratio = step_ratio.max(max_step(&out[range.clone()]) / steady_step);
        let bands = band_energies(&out[range.clone()], 48_000.0, 2000.0, 20_000.0);
        let floors: Vec<Vec<(f64, f64)>> = steady
            .iter()
            .map(|s| band_energies(&s[c][range.clone()], 48_000.0, 2000.0, 20_000.0))
            .collect();
        for (b, (_, e)) in bands.iter().enumerate() {
            let floor = floors.iter().map(|f| f[b].1).fold(0.0, f64::max);
            band_excess = band_excess.max(10.0 * (e / floor).log10());
        }
    }
    (step_ratio, band_excess)
}

/// Width at audio rate: a fast ramp (0 → 100 % in 5 ms, one sample-accurate event per
/// sample) and a square wave (0 ↔ 100 % every 100 ms, one jump each). Neither may click.
///
/// The step bound: the output moves between two steady states whose steps are at most
/// A·2π·440/48000; a level change by interpolation between them cannot exceed the larger one
/// except by the envelope's own slope, a few per cent here, so 1.25× leaves margin for that
/// while a click (a step of the order of the amplitude A) is 17× the steady step.
#[test]
fn width_automation_by_fast_ramps_and_square_waves_does_not_click() {
    let mut session = Session::new();
    let width = session.param("Width");
    let layout = session.select(2);
    let len = 3 * 48_000;
    let input = tone_on_a_floor(len);
    let steady = |session: &mut Session, value: f64| {
        let job = Job {
            input: input.clone(),
            blocks: vec![512],
            events: vec![(0, width.id, clap_value("Width", value))],
            realtime: false,
        };
        session.run(&layout, 48_000.0, &job).1
    };
    let narrow = steady(&mut session, 0.0);
    let wide = steady(&mut session, 100.0);
    let mut square = vec![(0, width.id, clap_value("Width", 0.0))];
    for (i, at) in (24_000..len).step_by(4_800).enumerate() {
        let value = if i % 2 == 0 { 100.0 } else { 0.0 };
        square.push((at, width.id, clap_value("Width", value)));
    }
    let mut ramp = vec![(0, width.id, clap_value("Width", 0.0))];
    for (i, start) in (24_000..len - 480).step_by(9_600).enumerate() {
        for k in 0..=240 {
            let x = k as f64 / 240.0 * 100.0;
            let value = if i % 2 == 0 { x } else { 100.0 - x };
            ramp.push((start + k, width.id, clap_value("Width", value)));
        }
    }
    // Analyse from 0.5 s on: the start-up fill of the latency is not part of the test.
    let range = 24_000 + expected_latency(48_000.0) as usize..len - 2048;
    for (name, events) in [("square wave", square), ("fast ramp", ramp)] {
        let job = Job {
            input: input.clone(),
            blocks: vec![480, 64, 1, 1024, 333],
            events,
            realtime: false,
        };
        let (_, out) = session.run(&layout, 48_000.0, &job);
        let (step, excess) = click_figures(&out, &[&narrow, &wide], range.clone());
        println!("width {name}: largest step {step:.3}x the steady one, worst band 2-20 kHz {excess:+.1} dB over the steady floor");
        assert!(
            step <= 1.25,
            "{name}: a step {step:.2}x the steady one is a click"
        );
        assert!(
            excess <= 6.0,
            "{name}: broadband energy {excess:.1} dB over the floor"
        );
    }
}

/// Depth and cancellation move the filters: each change is a redesign on the designer thread
/// that the audio thread crossfades to. Played in real time, as a host would, the changes are
/// heard within a few frames and never click.
#[test]
fn redesigns_crossfade_without_clicks_and_are_heard_promptly() {
    let mut session = Session::new();
    let depth = session.param("Depth");
    let cancel = session.param("Cancellation");
    let layout = session.select(3);
    let len = 2 * 48_000;
    let input = tone_on_a_floor(len);
    let run = |session: &mut Session, events: Vec<(usize, ClapId, f64)>| {
        let job = Job {
            input: input.clone(),
            blocks: vec![256],
            events,
            realtime: true,
        };
        session.run(&layout, 48_000.0, &job).1
    };
    let start = vec![
        (0, depth.id, clap_value("Depth", 0.0)),
        (0, cancel.id, clap_value("Cancellation", 30.0)),
    ];
    let before = run(&mut session, start.clone());
    let after = run(
        &mut session,
        vec![
            (0, depth.id, clap_value("Depth", 100.0)),
            (0, cancel.id, clap_value("Cancellation", 5.0)),
        ],
    );
    let change_at = 48_000;
    let mut events = start;
    events.push((change_at, depth.id, clap_value("Depth", 100.0)));
    events.push((change_at, cancel.id, clap_value("Cancellation", 5.0)));
    let changed = run(&mut session, events);
    let range = 24_000..len - 2048;
    let (step, excess) = click_figures(&changed, &[&before, &after], range);
    // When the change is heard: the first output sample that leaves the old steady state.
    let heard = (change_at..len)
        .find(|&i| (0..changed.len()).any(|c| (changed[c][i] - before[c][i]).abs() > 1e-4))
        .expect("the change must be heard");
    let delay_ms = (heard - change_at) as f64 / 48.0;
    println!("depth 0 -> 100 % and cancellation 30 -> 5 dB: heard after {delay_ms:.1} ms (real-time pacing), largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(
        step <= 1.25,
        "redesign: a step {step:.2}x the steady one is a click"
    );
    assert!(
        excess <= 6.0,
        "redesign: broadband energy {excess:.1} dB over the floor"
    );
    assert!(
        delay_ms < 250.0,
        "a redesign took {delay_ms:.0} ms to be heard (the target is 50 ms; this bound only catches a stalled designer)"
    );
}

/// Switching modes during playback (speakers → binaural → headphones → speakers) keeps the
/// latency and crossfades between the designs: no click. Paced in real time, so that the
/// designer thread delivers each mode's design as it would in a host.
#[test]
fn switching_modes_during_playback_crossfades_without_a_click() {
    let switches = [(36_000, 2.0), (72_000, 1.0), (108_000, 0.0)];
    let (step, excess) = switching_figures("Mode", &[0.0, 1.0, 2.0], &switches, true);
    println!("mode switches: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(step <= 1.25, "a mode switch clicks: step {step:.2}x");
    assert!(
        excess <= 6.0,
        "a mode switch clicks: {excess:.1} dB broadband"
    );
}

/// glibc's `struct mallinfo2`.
#[repr(C)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Heap bytes this process holds right now, over all malloc arenas (the plugin allocates
/// through the system allocator too). Unlike the resident set, freed memory does not count:
/// the resident set of a process that opens and closes GL windows wanders by tens of MB
/// with heap fragmentation and driver caches, leak or no leak.
fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// Unique colours and size of a PNG, from ImageMagick's `identify`.
fn image_facts(path: &std::path::Path) -> (u64, u32, u32) {
    let out = std::process::Command::new("identify")
        .args(["-format", "%k %w %h"])
        .arg(path)
        .output()
        .expect("ImageMagick's identify (the test command installs imagemagick)");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(v.len(), 3, "identify said {text:?}");
    (v[0], v[1] as u32, v[2] as u32)
}

/// The editor embedded in a host window (X11, as Linux DAWs do), opened and closed 50 times,
/// at 1× and 2× scale: no crash, no growing memory, a drawn window each time it is shown,
/// and no measurable cost to the audio thread once it is closed again.
#[test]
fn the_editor_opens_and_closes_fifty_times_without_leaking_at_one_and_two_times_scale() {
    use clack_extensions::gui::{GuiApiType, GuiConfiguration, PluginGui, Window};
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the editor test needs an X display: run it under xvfb-run (scripts/test.sh does)"
    );
    let (conn, screen_num) = x11rb::connect(None).expect("connect to the X server");
    let screen = &conn.setup().roots[screen_num];
    let parent = conn.generate_id().expect("window id");
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        screen.root,
        0,
        0,
        2200,
        1500,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(screen.black_pixel),
    )
    .expect("create the host window");
    conn.map_window(parent).expect("map");
    conn.flush().expect("flush");

    let mut session = Session::new();
    let gui: PluginGui = session
        .instance
        .plugin_handle()
        .get_extension()
        .expect("the plugin has a GUI");
    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    assert!(gui.is_api_supported(&session.instance.plugin_handle(), config));
    let layout = session.select(2);
    let audio_cost = |session: &mut Session| {
        let job = Job {
            input: tone_on_a_floor(4 * 48_000),
            blocks: vec![512],
            events: vec![],
            realtime: false,
        };
        let t = std::time::Instant::now();
        session.run(&layout, 48_000.0, &job);
        t.elapsed().as_secs_f64()
    };
    let before = audio_cost(&mut session);
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifact directory");
    let mut sizes = Vec::new();
    let mut heap = Vec::new();
    for cycle in 0..50 {
        let scale = if cycle % 2 == 0 { 1.0 } else { 2.0 };
        let handle = session.instance.plugin_handle();
        gui.create(&handle, config).expect("gui create");
        let _ = gui.set_scale(&handle, scale);
        // SAFETY: the parent window lives until the end of the test, past destroy().
        unsafe { gui.set_parent(&handle, Window::from_x11_handle(parent as _)) }
            .expect("gui set_parent");
        gui.show(&handle).expect("gui show");
        let size = gui.get_size(&handle).expect("gui size");
        if cycle < 2 {
            sizes.push((scale, size.width, size.height));
        }
        for _ in 0..if cycle < 2 { 150 } else { 8 } {
            pump_main_thread(&mut session.instance);
            std::thread::sleep(Duration::from_millis(10));
        }
        if cycle < 2 {
            let shot = artifacts.join(format!("editor-clap-{scale}x.png"));
            let status = std::process::Command::new("import")
                .args(["-window", &format!("{parent}")])
                .arg(&shot)
                .status()
                .expect("ImageMagick's import");
            assert!(status.success(), "screenshot of the host window");
            let (colours, _, _) = image_facts(&shot);
            assert!(
                colours > 300,
                "{scale}x: the editor window is blank ({colours} colours)"
            );
        }
        let handle = session.instance.plugin_handle();
        gui.hide(&handle).expect("gui hide");
        gui.destroy(&handle);
        pump_main_thread(&mut session.instance);
        heap.push(heap_in_use());
    }
    let after = audio_cost(&mut session);
    // The least of ten cycles each, early and late: buffers the GL driver frees a moment
    // after a window closes only ever add to a sample, so the least one is the heap the
    // instance really holds; a steady per-window leak raises it (the unpatched baseview
    // leaked 55 KB a window: 1.9 MB between the two).
    let least = |cycles: std::ops::Range<usize>| {
        heap[cycles].iter().copied().min().unwrap_or(0) as f64 / 1048576.0
    };
    let (early, late) = (least(5..15), least(40..50));
    let grown = late - early;
    println!(
        "editor sizes {sizes:?}; heap {early:.2} MB (least of cycles 5-14), {late:.2} MB (cycles 40-49): \
         {grown:+.2} MB; 4 s of audio took {:.1} ms before the editor was ever opened and {:.1} ms after it was closed",
        before * 1e3,
        after * 1e3
    );
    let (one, two) = (sizes[0], sizes[1]);
    assert_eq!((one.0, two.0), (1.0, 2.0));
    assert!(
        (two.1 as f64 / one.1 as f64 - 2.0).abs() < 0.05,
        "at 2x the editor is twice as wide: {sizes:?}"
    );
    assert!(
        grown < 1.0,
        "35 open/close cycles grew the heap by {grown:.2} MB"
    );
    assert!(
        after < 1.5 * before,
        "a closed editor costs the audio thread: {:.1} ms against {:.1} ms",
        after * 1e3,
        before * 1e3
    );
}

/// The parameter `name` switched during playback between the host values `states` (first
/// at the start, then `switches`: sample and value): every state has the same latency, each
/// changes the sound, and the click figures of the switched run against the steady states.
fn switching_figures(
    name: &str,
    states: &[f64],
    switches: &[(usize, f64)],
    realtime: bool,
) -> (f32, f64) {
    let mut session = Session::new();
    let switch = session.param(name);
    let layout = session.select(2);
    let len = 3 * 48_000;
    let input = tone_on_a_floor(len);
    let mut run = |events: Vec<(usize, ClapId, f64)>| {
        let job = Job {
            input: input.clone(),
            blocks: vec![480],
            events,
            realtime,
        };
        session.run(&layout, 48_000.0, &job)
    };
    let steady: Vec<(u32, Vec<Vec<f32>>)> = states
        .iter()
        .map(|&v| run(vec![(0, switch.id, v)]))
        .collect();
    let events = std::iter::once((0, switch.id, states[0]))
        .chain(switches.iter().map(|&(at, v)| (at, switch.id, v)))
        .collect();
    let (latency, switched) = run(events);
    assert!(
        steady.iter().all(|(l, _)| *l == latency),
        "every {name} state has the same latency"
    );
    for (v, (_, out)) in states.iter().zip(&steady).skip(1) {
        let differs = out[0]
            .iter()
            .zip(&steady[0].1[0])
            .skip(24_000)
            .any(|(a, b)| (a - b).abs() > 1e-3);
        assert!(differs, "{name} = {v} changes what comes out");
    }
    let outs: Vec<&[Vec<f32>]> = steady.iter().map(|(_, o)| o.as_slice()).collect();
    click_figures(&switched, &outs, 24_000..len - 2048)
}

/// The headphone preview and bypass, switched during playback, crossfade without a click.
#[test]
fn switching_the_headphone_preview_or_bypass_during_playback_does_not_click() {
    let toggles: Vec<(usize, f64)> = (0..5)
        .map(|i| (30_000 + i * 20_000, ((i + 1) % 2) as f64))
        .collect();
    for name in ["Headphone preview", "Bypass"] {
        let (step, excess) = switching_figures(name, &[0.0, 1.0], &toggles, false);
        println!("{name} switches: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
        assert!(step <= 1.25, "{name} clicks: step {step:.2}x");
        assert!(excess <= 6.0, "{name} clicks: {excess:.1} dB broadband");
    }
}

/// A session saved with a measured head reopens on a machine without the SOFA file: the state
/// carries the head's data, and the plugin plays exactly what the offline render designed for
/// that head plays.
#[test]
fn a_session_with_a_measured_head_reopens_without_the_file() {
    use sofa::{Extras, Head};
    use soundstage::design::head::{HeadChoice, StoredSet};
    use soundstage::design::measured::MeasuredHead;
    use soundstage::design::settings::Settings;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("head.sofa");
    sofa::write(
        &file,
        "synthetic",
        &sofa::measurements(Head::Synthetic, 5.0),
        &Extras::default(),
    );
    let set = soundstage::design::sofa::read(&file).unwrap();
    let choice = HeadChoice {
        measured: true,
        set: Some(Arc::new(StoredSet::from_set(&set))),
    };
    // The laptop preset's geometry, as a host would have saved it.
    let laptop = soundstage::design::presets::find("laptop").unwrap();
    let settings = laptop.apply(&Settings::default());
    let state = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "params": {
            "spacing": {"f32": 30.0}, "dist": {"f32": 0.5}, "vangle": {"f32": 30.0},
            "bassx": {"f32": 150.0}, "mode": {"string": "speakers"},
        },
        "fields": {
            "head": serde_json::to_string(&choice).unwrap(),
            "state-version": "1",
        },
    })
    .to_string();
    std::fs::remove_file(&file).unwrap();
    let mut blob = (state.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(state.as_bytes());
    let mut session = Session::new();
    session
        .exts
        .state
        .unwrap()
        .load(&session.instance.plugin_handle(), &mut Cursor::new(&blob))
        .expect("the state loads");
    pump_main_thread(&mut session.instance);
    let layout = session.select(2);
    let input = tone_on_a_floor(48_000);
    let job = Job {
        input: input.clone(),
        blocks: vec![512, 77, 1024],
        events: vec![],
        realtime: false,
    };
    let (latency, heard) = session.run(&layout, 48_000.0, &job);
    // The head as the state carries it (its responses trimmed where they have decayed).
    let stored = choice.set.as_ref().unwrap().to_set().unwrap();
    let head = MeasuredHead::new(&stored);
    let (mut engine, _) = soundstage::render::engine_for(&settings, 2, 48_000.0, &head);
    let offline = soundstage::render::stream(&mut engine, &input[0], &input[1], &[512], |_| {});
    let latency = latency as usize;
    let mut err = 0.0f64;
    let mut power = 0.0f64;
    for c in 0..2 {
        for (a, b) in heard[c][latency..].iter().zip(&offline[c]) {
            err += ((a - b) as f64).powi(2);
            power += (*b as f64).powi(2);
        }
    }
    let mut saved = Vec::new();
    session
        .exts
        .state
        .unwrap()
        .save(&session.instance.plugin_handle(), &mut saved)
        .expect("state save");
    let json: serde_json::Value = serde_json::from_slice(&saved[8..]).unwrap();
    let kept: HeadChoice = serde_json::from_str(json["fields"]["head"].as_str().unwrap()).unwrap();
    let null = 10.0 * (err / power).log10();
    println!(
        "measured head in the state: {} bytes of state in all, plugin against the offline render {null:.1} dB",
        saved.len()
    );
    assert!(
        null <= -100.0,
        "the plugin plays another design: {null:.1} dB"
    );
    assert_eq!(kept, choice, "saving again keeps the measured head");
    assert!(saved.len() < 250_000, "{} bytes", saved.len());
}
