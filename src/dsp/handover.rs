//! The lock-free hand-over of filter sets between the designer thread and the audio thread.
//! New sets travel in through one wait-free queue; sets the engine no longer uses travel
//! back through another, so that they are freed off the audio thread (the fundsp pattern).

use super::engine::Engine;
use crate::dsp::contract::FilterSet;
use rtrb::{Consumer, Producer, RingBuffer};

/// New sets in flight to the audio thread at most: while the host does not call `process()`
/// (a stopped transport, a suspended instance) the designer keeps only its newest design
/// beside this one, instead of piling sets up (about 2 MB each at 384 kHz, 4 outputs).
const IN_FLIGHT: usize = 1;

/// Capacity of the way back: the sets the engine retires between two collections.
const RETURN_CAPACITY: usize = 64;

/// The designer's end.
pub struct DesignerSide {
    to_audio: Producer<Box<FilterSet>>,
    from_audio: Consumer<Box<FilterSet>>,
}

/// The audio thread's end.
pub struct AudioSide {
    from_designer: Consumer<Box<FilterSet>>,
    to_designer: Producer<Box<FilterSet>>,
    held: Option<Box<FilterSet>>,
}

/// A connected pair of ends.
pub fn channel() -> (DesignerSide, AudioSide) {
    let (to_audio, from_designer) = RingBuffer::new(IN_FLIGHT);
    let (to_designer, from_audio) = RingBuffer::new(RETURN_CAPACITY);
    (
        DesignerSide {
            to_audio,
            from_audio,
        },
        AudioSide {
            from_designer,
            to_designer,
            held: None,
        },
    )
}

impl DesignerSide {
    /// Offers a new set to the audio thread; gives it back if the queue is full.
    pub fn send(&mut self, set: Box<FilterSet>) -> Result<(), Box<FilterSet>> {
        self.to_audio
            .push(set)
            .map_err(|rtrb::PushError::Full(set)| set)
    }

    /// Frees every set the audio thread has returned; returns how many.
    pub fn collect_garbage(&mut self) -> usize {
        let mut freed = 0;
        while let Ok(set) = self.from_audio.pop() {
            drop(set);
            freed += 1;
        }
        freed
    }
}

impl AudioSide {
    /// Called at the top of every audio callback: installs whatever the designer sent and
    /// returns what the engine retired. Never blocks, allocates or frees.
    pub fn poll(&mut self, engine: &mut Engine) {
        self.poll_engines(engine, None);
    }

    /// [`Self::poll`] for an engine and the other latency mode's standing by: a new set goes
    /// to the one whose layout it was designed for, and both retire.
    pub fn poll_engines(&mut self, engine: &mut Engine, mut standby: Option<&mut Engine>) {
        if let Some(set) = self.held.take() {
            self.give_back(set);
        }
        for engine in std::iter::once(&mut *engine).chain(standby.as_deref_mut()) {
            while self.held.is_none() {
                let Some(old) = engine.take_retired() else {
                    break;
                };
                self.give_back(old);
            }
        }
        // Only the newest design matters; older ones go straight back.
        let mut newest = None;
        while let Ok(set) = self.from_designer.pop() {
            if let Some(older) = newest.replace(set) {
                self.give_back(older);
            }
        }
        if let Some(set) = newest {
            let target = match standby {
                Some(other) if other.layout() == set.layout => other,
                _ => engine,
            };
            if let Err((_, refused)) = target.install(set) {
                self.give_back(refused);
            }
        }
    }

    fn give_back(&mut self, set: Box<FilterSet>) {
        if let Err(rtrb::PushError::Full(set)) = self.to_designer.push(set) {
            // The designer drains the queue every few milliseconds; keep the set until then.
            // NOTE: with 64 places and at most four sets retired per callback, a second set
            // can only arrive here if the designer thread has stopped; it is then dropped.
            self.held = Some(set);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::contract::tests::filter_set;

    #[test]
    fn while_the_audio_thread_takes_nothing_only_one_new_set_is_in_flight() {
        let (mut designer, _audio) = channel();
        assert!(designer.send(filter_set(1)).is_ok());
        // The host is not calling process(): further sets are handed back, not queued.
        for generation in 2..10 {
            let refused = designer
                .send(filter_set(generation))
                .expect_err("one in flight");
            assert_eq!(refused.generation, generation);
        }
    }
}
