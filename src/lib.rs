//! Soundstage: a spatial-audio plugin (CLAP, VST3) that widens, deepens and centres a stereo
//! mix on speakers or headphones. This file is glue: the DSP lives in [`dsp`], the filter
//! design in [`design`], the parameters in [`params`] and the editor in [`editor`].

pub mod design;
pub mod dsp;
pub mod editor;
pub mod files;
pub mod limits;
#[cfg(feature = "cli")]
pub mod offline;
pub mod params;
pub mod tracking;

use design::filters::chain::DesignInput;
use design::model::head::PlantCache;
use design::worker::{design_checked, DesignJob, DesignWorker};
use dsp::contract::{Controls, FilterSet};
use dsp::engine::Engine;
use dsp::handover;
use dsp::processor::Processor;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, RepaintNotifier};
use params::SoundstageParams;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracking::listener::Tracker;

/// Output layouts: stereo first (what every host gets), then a left-centre-right line and a
/// four-driver line (CLAP hosts can select them; VST3 exposes stereo).
const LAYOUTS: &[AudioIOLayout] = &[
    layout(2, "Stereo"),
    layout(3, "Stereo to L/C/R line"),
    layout(4, "Stereo to 4-driver line"),
];

const fn layout(outputs: u32, name: &'static str) -> AudioIOLayout {
    AudioIOLayout {
        main_input_channels: NonZeroU32::new(2),
        main_output_channels: NonZeroU32::new(outputs),
        names: PortNames {
            layout: Some(name),
            ..PortNames::const_default()
        },
        ..AudioIOLayout::const_default()
    }
}

/// One plugin instance.
pub struct Soundstage {
    /// Host parameters and persisted fields.
    params: Arc<SoundstageParams>,
    /// The editor window's size and open state.
    editor_state: Arc<EguiEditorState>,
    /// Lets the audio and designer threads ask the editor to repaint.
    repaint: RepaintNotifier,
    /// What the editor shows that the plugin produces (designs, meters).
    shared: Arc<editor::Shared>,
    /// The real-time state (present while active).
    processor: Option<Processor>,
    /// Designs off the audio thread (present while active).
    worker: Option<DesignWorker>,
    /// The head tracker: started by the first activation with tracking on (or by the editor),
    /// listening until tracking is turned off or the instance is dropped.
    tracker: Arc<Tracker>,
    /// Whether the host renders offline (bounce, freeze): then parameter changes wait for
    /// their design, so that every render of a session is identical.
    offline: bool,
}

impl Default for Soundstage {
    fn default() -> Self {
        let size = params::DEFAULT_EDITOR_SIZE;
        let params = Arc::new(SoundstageParams::default());
        let events = params.design_events.clone();
        let tracker = Arc::new(Tracker::new(move || events.notify()));
        Self {
            params,
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(size.0, size.1),
                1.0,
            ),
            repaint: RepaintNotifier::new(),
            shared: Arc::new(editor::Shared::default()),
            processor: None,
            worker: None,
            tracker,
            offline: false,
        }
    }
}

impl Plugin for Soundstage {
    const NAME: &'static str = "Soundstage";
    const VENDOR: &'static str = "Soundstage";
    const URL: &'static str = "https://github.com/soundstage-audio/soundstage";
    const EMAIL: &'static str = "dev@soundstage.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = LAYOUTS;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = EguiEditor<editor::SoundstageEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.editor_state.clone(),
            self.repaint.clone(),
            self.shared.clone(),
            self.tracker.clone(),
        )
    }

    fn filter_state(state: &mut PluginState) {
        params::migrate_state(state);
    }

    // NOTE: long because activation is one sequence whose order matters: the first design
    // (made here, so that audio starts with filters), the engine and its latency, the
    // designer thread that takes over from that design, the processor.
    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let outputs = audio_io_layout
            .main_output_channels
            .map_or(2, NonZeroU32::get) as usize;
        let sample_rate = buffer_config.sample_rate as f64;
        // Stop a previous designer before its filters can reach the new engine.
        self.worker = None;
        let generation = self.params.design_generation.load(Ordering::Acquire);
        let settings = self.params.settings();
        let input = DesignInput {
            settings,
            outputs,
            sample_rate,
        };
        // The engine needs filters now: when the chosen head cannot serve (damaged data, a
        // geometry it does not cover), the sphere stands in and the editor says why.
        let mut plants = PlantCache::default();
        let (plant, problem) =
            plants.serving(&self.params.head_choice(), &settings.geometry(outputs));
        self.shared.set_active(outputs, sample_rate);
        let (engine, design_failed) = engine_for(&input, plant.as_ref(), generation, |first| {
            self.shared.publish(first)
        });
        let other = DesignInput {
            settings: design::config::settings::Settings {
                latency: settings.latency.other(),
                ..settings
            },
            ..input
        };
        let (standby, standby_failed) = engine_for(&other, plant.as_ref(), generation, |_| {});
        if let Some(why) = design_failed
            .or(standby_failed)
            .as_ref()
            .or(problem.as_ref())
        {
            self.shared.set_problem(&why);
        }
        context.set_latency_samples(engine.latency() as u32);
        let (designer, audio) = handover::channel();
        self.tracker.apply(self.params.tracking());
        let params = self.params.clone();
        let tracker = self.tracker.clone();
        let (shared, failed) = (self.shared.clone(), self.shared.clone());
        let (repaint, repaint_failed) = (self.repaint.clone(), self.repaint.clone());
        let worker = DesignWorker::spawn(
            move || {
                let generation = params.design_generation.load(Ordering::Acquire);
                let mut settings = params.settings();
                // The newest pose while the tracker runs; without it, the parameters'. (An
                // offline render with tracking on follows the tracker as it is during the
                // render: a host like pedalboard renders offline while a listener moves. For a
                // repeatable bounce, tracking is off or the CLI's --poses is used.)
                if let Some(t) = tracker.newest() {
                    params::follow(&mut settings, &t);
                }
                let (plant, stand_in) =
                    plants.serving(&params.head_choice(), &settings.geometry(outputs));
                DesignJob {
                    generation,
                    input: DesignInput {
                        settings,
                        outputs,
                        sample_rate,
                    },
                    plant,
                    stand_in,
                }
            },
            &self.params.design_events,
            designer,
            move |made| {
                shared.publish(made);
                repaint.request_repaint();
            },
            move |why| {
                failed.set_problem(why);
                repaint_failed.request_repaint();
            },
            DesignJob {
                generation,
                input,
                plant,
                stand_in: problem,
            },
        );
        match worker {
            Ok(worker) => self.worker = Some(worker),
            Err(e) => {
                // Without a designer nothing could follow a parameter change: refuse to
                // activate (the host reports it) rather than play filters that never change.
                nice_error!("Soundstage cannot start its designer thread: {e}");
                return false;
            }
        }
        self.processor = Some(
            Processor::new(
                engine,
                audio,
                buffer_config.max_buffer_size as usize,
                sample_rate,
            )
            .with_standby(standby, sample_rate),
        );
        self.offline = buffer_config.process_mode == ProcessMode::Offline;
        true
    }

    fn reset(&mut self) {
        let controls = self.controls();
        if let Some(processor) = &mut self.processor {
            processor.reset(controls);
        }
    }

    fn deactivate(&mut self) {
        // The tracker keeps listening (and following) while the host suspends the instance:
        // hosts deactivate for a new rate or block size, and a listener restarted each time
        // would glide in from the nominal listener again.
        self.worker = None;
        self.processor = None;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let controls = self.controls();
        let Some(processor) = self.processor.as_mut() else {
            return ProcessStatus::Normal;
        };
        // The latency mode switches at once (it is not automatable: a user's choice) and
        // the host is told; hosts that restart the plugin for it get the same engine back.
        if processor.select_latency(self.params.latency().value().into()) {
            context.set_latency_samples(processor.engine().latency() as u32);
        }
        if let (true, Some(worker)) = (self.offline, &self.worker) {
            let generation = self.params.design_generation.load(Ordering::Acquire);
            worker.wait_for(processor, generation, OFFLINE_DESIGN_WAIT);
        }
        let open = self.editor_state.is_open();
        processor.process(
            controls,
            buffer.as_slice(),
            open.then_some(&self.shared.meters),
        );
        if open {
            self.repaint.request_repaint();
        }
        ProcessStatus::Normal
    }
}

impl Drop for Soundstage {
    /// The tracker's thread ends with the instance, even if the host never deactivated it
    /// (the editor may hold the tracker a little longer, but not its thread).
    fn drop(&mut self) {
        self.tracker.stop();
    }
}

impl Soundstage {
    /// The audio-rate controls as the parameters set them now.
    fn controls(&self) -> Controls {
        self.params.settings().controls()
    }
}

/// An engine playing the design for `input`, which `on_design` sees first; when none can
/// be made, the input plays delayed (a plain set) until one can, and the error says why.
fn engine_for(
    input: &DesignInput,
    plant: &dyn design::model::plant::Plant,
    generation: u64,
    on_design: impl FnOnce(&design::filters::chain::Design),
) -> (Engine, Option<design::DesignError>) {
    let (filters, failed) = match design_checked(input, plant, None) {
        Ok(made) => {
            on_design(&made);
            (made.filters, None)
        }
        Err(why) => (FilterSet::plain(input.layout(), input.outputs), Some(why)),
    };
    let mut filters = Box::new(filters);
    filters.generation = generation;
    let mut engine = Engine::new(filters, input.sample_rate, input.settings.controls());
    engine.settle_controls();
    (engine, failed)
}

/// Longest an offline render waits for a design before carrying on with the last one (a
/// design takes milliseconds; this bounds a designer that is alive but stuck).
const OFFLINE_DESIGN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl ClapPlugin for Soundstage {
    const CLAP_ID: &'static str = "audio.soundstage.spatial";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Wide, deep, centred stereo on speakers or headphones: upmix, virtual speakers, crosstalk cancellation and a centre beam");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Surround,
        ClapFeature::Mixing,
        ClapFeature::Mastering,
        ClapFeature::Custom("soundstage:spatial"),
    ];
}

impl Vst3Plugin for Soundstage {
    const VST3_CLASS_ID: [u8; 16] = *b"SoundstageSpat01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Spatial];
}

nice_export_clap!(Soundstage);
nice_export_vst3!(Soundstage);
