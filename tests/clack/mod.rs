//! Our CLAP host, built on clack-host, shared by the test binaries that load the built
//! plugin: host callbacks, loading and instantiation, port and parameter queries, and an
//! audio thread that plays a job through the plugin as a DAW would.
//!
//! The plugin is `CLAP_PLUGIN_PATH` when set (the README's test command points it at
//! `target/bundled/Soundstage.clap`), otherwise the cdylib this `cargo test` built.

use std::cell::Cell;
use std::ffi::{CStr, CString};
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
pub struct TestHost;

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
pub struct TestShared {
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
pub struct TestMainThread<'a> {
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
pub const LIB_NAME: &str = "soundstage";
/// What `cargo xtask bundle` produces under `target/bundled/`.
pub const BUNDLE_NAME: &str = "Soundstage.clap";

/// Resolution order:
/// 1. `CLAP_PLUGIN_PATH` (relative paths are relative to the package root: `cargo test` runs
///    integration tests with the package root as working directory);
/// 2. the cdylib that this very `cargo test` invocation built next to the test binary
///    (`target/<profile>/deps/libsoundstage.so`): on Linux the `.clap` is exactly this file
///    renamed, and it can never be stale;
/// 3. `target/bundled/Soundstage.clap` from `cargo xtask bundle`.
pub fn plugin_path() -> PathBuf {
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
pub fn load_entry() -> (PluginEntry, CString) {
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
pub fn shared_entry() -> &'static (PluginEntry, CString) {
    static ENTRY: OnceLock<(PluginEntry, CString)> = OnceLock::new();
    ENTRY.get_or_init(load_entry)
}

/// A fresh instance of plugin `id` with this host's handlers (create_plugin + init).
pub fn instantiate(entry: &PluginEntry, id: &CStr) -> PluginInstance<TestHost> {
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
pub fn pump_main_thread(instance: &mut PluginInstance<TestHost>) {
    while instance.access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst)) {
        instance.call_on_main_thread_callback();
    }
}

/// Plugin-side extension handles. They are `Copy` but bound to *one* instance: using one with
/// another instance's handle panics ("mismatched instance"), so query them per instance.
#[derive(Clone, Copy)]
pub struct Exts {
    pub audio_ports: Option<PluginAudioPorts>,
    pub ports_config: Option<PluginAudioPortsConfig>,
    pub latency: Option<PluginLatency>,
    pub params: Option<PluginParams>,
    pub state: Option<PluginState>,
}

/// The plugin-side extensions of this instance.
pub fn exts(instance: &mut PluginInstance<TestHost>) -> Exts {
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

/// The audio ports of the selected layout, as channel counts.
#[derive(Debug, Clone, PartialEq)]
pub struct PortLayout {
    /// Channel count per input port, in port order.
    pub inputs: Vec<u32>,
    /// Channel count per output port, in port order.
    pub outputs: Vec<u32>,
    pub main_output: Option<usize>,
}

/// The channel counts of the audio ports the plugin declares now.
pub fn port_layout(instance: &mut PluginInstance<TestHost>, ports: PluginAudioPorts) -> PortLayout {
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

/// One output layout the plugin offers.
#[derive(Debug, Clone)]
pub struct PortsConfig {
    pub id: ClapId,
    pub name: String,
    pub main_input_channels: Option<u32>,
    pub main_output_channels: Option<u32>,
}

/// Every audio-ports configuration the plugin offers (its output layouts).
pub fn ports_configs(
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

/// One parameter as the host lists it.
#[derive(Debug, Clone)]
pub struct ParamDesc {
    pub id: ClapId,
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub flags: ParamInfoFlags,
}

/// Every parameter as the host sees it: id, name, range, default and flags.
pub fn list_params(
    instance: &mut PluginInstance<TestHost>,
    params: PluginParams,
) -> Vec<ParamDesc> {
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

/// The current host value of each parameter in `descs`.
pub fn param_values(
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

/// The largest block the host sends (and the plugin is activated for).
pub const MAX_FRAMES: u32 = 4096;

/// What the audio thread plays through the plugin.
pub struct Job {
    /// Stereo input, both channels the same length.
    pub input: [Vec<f32>; 2],
    /// Block sizes, cycled until the input is consumed.
    pub blocks: Vec<usize>,
    /// Parameter changes: (sample index, parameter id, host value), sorted by time.
    pub events: Vec<(usize, ClapId, f64)>,
    /// Whether blocks are paced at the sample rate, as a live host calls them (the designer
    /// thread then sees parameter changes in the same wall-clock time a listener would).
    pub realtime: bool,
}

/// What one job played: the latency the plugin reported while active, the outputs (one Vec
/// per main-output channel) and the time the audio thread spent inside `process()`.
pub struct Played {
    pub latency: u32,
    pub outputs: Vec<Vec<f32>>,
    /// Read by the editor test (what a closed editor costs the audio thread).
    #[allow(dead_code)]
    pub in_process: Duration,
}

/// Activates at `sample_rate`, runs `job` on an audio thread, deactivates.
pub fn run_job(
    instance: &mut PluginInstance<TestHost>,
    exts: Exts,
    layout: &PortLayout,
    sample_rate: f64,
    job: &Job,
) -> Played {
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
    let (stopped, outputs, in_process) = std::thread::scope(|s| {
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
    Played {
        latency,
        outputs,
        in_process,
    }
}

/// Plays `job` through the started processor, block by block, with its events; returns the
/// stopped processor, the main output's channels and the time spent inside `process()`.
pub fn audio_thread(
    processor: StoppedPluginAudioProcessor<TestHost>,
    layout: &PortLayout,
    sample_rate: f64,
    job: &Job,
) -> (
    StoppedPluginAudioProcessor<TestHost>,
    Vec<Vec<f32>>,
    Duration,
) {
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
    let mut in_process = Duration::ZERO;
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
            let called = std::time::Instant::now();
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
            in_process += called.elapsed();
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
    (processor.stop_processing(), outputs, in_process)
}

/// A loaded, instantiated plugin with its extensions, ports configs and parameters.
pub struct Session {
    pub instance: PluginInstance<TestHost>,
    pub exts: Exts,
    pub configs: Vec<PortsConfig>,
    pub params: Vec<ParamDesc>,
}

impl Session {
    /// A new instance of the shared entry's plugin, with its configs and parameters listed.
    pub fn new() -> Self {
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
    pub fn param(&self, name: &str) -> ParamDesc {
        self.params
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    /// Selects the layout with `outputs` main outputs and returns its ports.
    pub fn select(&mut self, outputs: u32) -> PortLayout {
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

    /// Runs `job` at `sample_rate` on `layout`: the reported latency and the outputs.
    pub fn run(
        &mut self,
        layout: &PortLayout,
        sample_rate: f64,
        job: &Job,
    ) -> (u32, Vec<Vec<f32>>) {
        let played = self.play(layout, sample_rate, job);
        (played.latency, played.outputs)
    }

    /// Like [`Self::run`], with the time the audio thread spent inside `process()`.
    pub fn play(&mut self, layout: &PortLayout, sample_rate: f64, job: &Job) -> Played {
        run_job(&mut self.instance, self.exts, layout, sample_rate, job)
    }

    /// Whether the plugin asked the host to restart it since the last call (clears the ask).
    #[allow(dead_code)] // Read by clap_host.rs, not by editor_host.rs.
    pub fn take_restart_request(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.restart_requested.swap(false, Ordering::SeqCst))
    }

    /// How many times the plugin told the host (CLAP `latency.changed`) its latency changed.
    #[allow(dead_code)] // Read by clap_host.rs, not by editor_host.rs.
    pub fn latency_changes(&self) -> u32 {
        self.instance.access_handler(|h| h.latency_changed.get())
    }

    /// The host value of every parameter, in `params` order.
    pub fn values(&mut self) -> Vec<f64> {
        let params = self.exts.params.unwrap();
        let descs = self.params.clone();
        param_values(&mut self.instance, params, &descs)
    }
}

/// The value the host sends for `plain` on the parameter named `name`: nice-plug exposes
/// continuous parameters normalised to 0..1 and stepped ones (switches, the mode) as step
/// indices.
pub fn clap_value(name: &str, plain: f64) -> f64 {
    match soundstage::params::FLOAT_PARAMS
        .iter()
        .find(|s| s.name == name)
    {
        Some(spec) => spec.range().normalize(plain as f32) as f64,
        None => plain,
    }
}

/// The plain value of a host value (inverse of [`clap_value`]).
pub fn plain_value(name: &str, value: f64) -> f64 {
    match soundstage::params::FLOAT_PARAMS
        .iter()
        .find(|s| s.name == name)
    {
        Some(spec) => spec.range().unnormalize(value as f32) as f64,
        None => value,
    }
}

/// The latency the engine reports at `sample_rate` (its frame layout scales with the rate).
pub fn expected_latency(sample_rate: f64) -> u32 {
    soundstage::dsp::contract::FrameLayout::new(
        sample_rate,
        soundstage::dsp::contract::LatencyMode::Normal,
    )
    .latency() as u32
}

/// A sine of `freq` Hz, `len` samples long.
pub fn sine(freq: f64, sample_rate: f64, len: usize, amplitude: f32) -> Vec<f32> {
    (0..len)
        .map(|i| amplitude * (std::f64::consts::TAU * freq * i as f64 / sample_rate).sin() as f32)
        .collect()
}

/// A 440 Hz tone at −12 dBFS on a noise floor at −100 dBFS RMS (16-bit dither is −101 dBFS;
/// real programme is noisier): the steady-state floor that automation must not lift.
pub fn tone_on_a_floor(len: usize) -> [Vec<f32>; 2] {
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
