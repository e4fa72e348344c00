//! The designer thread: watches a generation counter that parameter changes bump, designs
//! off the audio thread, hands the new filters over lock-free and frees the ones the audio
//! thread has retired. The audio thread only ever bumps an atomic; it never waits for this.

use super::filterset::{design, Design, DesignInput};
use super::plant::Plant;
use crate::dsp::handover::DesignerSide;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the designer looks for work when nobody wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// A running designer thread; stopping it (drop) joins it.
pub struct DesignWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DesignWorker {
    /// Starts the thread. `source` returns the current generation and what to design for
    /// it; work starts when the generation differs from `designed_generation`.
    /// `on_design` sees every design before its filters are sent (plots, diagnostics).
    pub fn spawn(
        source: impl Fn() -> (u64, DesignInput) + Send + 'static,
        plant: Arc<dyn Plant>,
        mut designer: DesignerSide,
        mut on_design: impl FnMut(&Design) + Send + 'static,
        designed_generation: u64,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("soundstage-designer".into())
            .spawn(move || {
                let mut done = designed_generation;
                let mut unsent = None;
                while !stop_flag.load(Ordering::Acquire) {
                    designer.collect_garbage();
                    if let Some(set) = unsent.take() {
                        unsent = designer.send(set).err();
                    }
                    let (generation, input) = source();
                    if generation != done && unsent.is_none() {
                        let mut made = design(&input, plant.as_ref());
                        made.filters.generation = generation;
                        on_design(&made);
                        unsent = designer.send(Box::new(made.filters)).err();
                        done = generation;
                    }
                    std::thread::park_timeout(POLL_INTERVAL);
                }
            })
            .expect("the designer thread can be started");
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Wakes the thread at once (from a GUI or main thread; the audio thread relies on the
    /// poll interval instead, because waking is a system call).
    pub fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for DesignWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
