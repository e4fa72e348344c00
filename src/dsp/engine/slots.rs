//! The filter sets an engine holds: the one playing, the one fading out while a new one
//! fades in, the newest design waiting for that fade to end, and the sets no longer used,
//! kept until the caller takes them back to be freed off the audio thread.

use crate::dsp::contract::FilterSet;

/// Places for retired sets between two collections. At most three sets retire between two
/// polls (a replaced waiting set and two finished fades), so four never fill while the caller
/// collects.
const RETIRED_SLOTS: usize = 4;

/// The lifecycle of filter sets: install, fade, retire.
pub struct FilterSlots {
    /// The set playing, or fading in while `previous` fades out.
    current: Box<FilterSet>,
    /// The set fading out.
    previous: Option<Box<FilterSet>>,
    /// The newest design, waiting for the running fade to end.
    pending: Option<Box<FilterSet>>,
    /// Sets no longer used, to be freed off the audio thread.
    retired: [Option<Box<FilterSet>>; RETIRED_SLOTS],
    /// Frames of the running fade done.
    fade: usize,
    /// Samples since the last fade started: the ear responses of the headphone preview
    /// crossfade over one hop from the previous set's to the new set's.
    since_install: usize,
    /// Changes whenever the playing sets change, so that anything computed from them (the
    /// engine's filter matrix) knows it is stale.
    epoch: u64,
}

impl FilterSlots {
    /// Slots playing `set`.
    pub fn new(set: Box<FilterSet>) -> Self {
        Self {
            current: set,
            previous: None,
            pending: None,
            retired: std::array::from_fn(|_| None),
            fade: 0,
            since_install: usize::MAX,
            epoch: 0,
        }
    }

    /// The set playing or fading in.
    pub fn current(&self) -> &FilterSet {
        &self.current
    }

    /// The set fading out, while a fade runs.
    pub fn previous(&self) -> Option<&FilterSet> {
        self.previous.as_deref()
    }

    /// The parameter generation of the newest set held (playing, fading in or waiting).
    pub fn newest_generation(&self) -> u64 {
        self.pending
            .as_ref()
            .map_or(self.current.generation, |p| p.generation)
    }

    /// See the field: compare it with the value a cache was built at.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Takes a new set. With `at_once` (nothing has been heard yet, so there is nothing to
    /// fade from) it plays from now on and every other set retires; otherwise it fades in,
    /// or, while a fade runs, waits for it to end (an older waiting set retires).
    pub fn install(&mut self, set: Box<FilterSet>, at_once: bool) {
        if at_once {
            self.epoch = self.epoch.wrapping_add(1);
            let old = std::mem::replace(&mut self.current, set);
            self.retire(old);
            for set in [self.previous.take(), self.pending.take()]
                .into_iter()
                .flatten()
            {
                self.retire(set);
            }
        } else if self.previous.is_some() {
            if let Some(old) = self.pending.replace(set) {
                self.retire(old);
            }
        } else {
            self.fade_to(set);
        }
    }

    /// Makes `next` the playing set and starts fading the one it replaces out.
    fn fade_to(&mut self, next: Box<FilterSet>) {
        self.epoch = self.epoch.wrapping_add(1);
        let old = std::mem::replace(&mut self.current, next);
        self.previous = Some(old);
        self.fade = 0;
        self.since_install = 0;
    }

    /// How much of the current set this frame plays: rising over the layout's
    /// [`crate::dsp::contract::FrameLayout::crossfade_frames`] + 1 steps while a fade runs,
    /// 1 otherwise (the previous set plays the rest).
    pub fn fade_in(&self) -> f32 {
        if self.previous.is_some() {
            (self.fade + 1) as f32 / (self.current.layout.crossfade_frames() + 1) as f32
        } else {
            1.0
        }
    }

    /// Called after every frame: advances the fade; at its end the previous set retires and
    /// a waiting set starts its own fade.
    pub fn end_frame(&mut self) {
        if self.previous.is_some() {
            self.fade += 1;
            if self.fade >= self.current.layout.crossfade_frames() {
                if let Some(old) = self.previous.take() {
                    self.retire(old);
                }
                if let Some(next) = self.pending.take() {
                    self.fade_to(next);
                }
            }
        }
    }

    /// The set the ear responses fade from and the samples since its fade began, while a
    /// fade runs.
    pub fn ear_fade(&self) -> Option<(&FilterSet, usize)> {
        self.previous
            .as_deref()
            .map(|previous| (previous, self.since_install))
    }

    /// Counts `samples` more since the last fade began.
    pub fn advance(&mut self, samples: usize) {
        self.since_install = self.since_install.saturating_add(samples);
    }

    /// Takes one set that is no longer used, to be freed off the audio thread.
    pub fn take_retired(&mut self) -> Option<Box<FilterSet>> {
        self.retired.iter_mut().find_map(Option::take)
    }

    fn retire(&mut self, set: Box<FilterSet>) {
        match self.retired.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(set),
            // NOTE: the slots fill only if the caller never collects; keeping the newest
            // retired set and dropping an older one is then the lesser evil.
            None => self.retired[0] = Some(set),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::contract::tests::filter_set;
    use crate::dsp::contract::CROSSFADE_FRAMES;

    fn generations(slots: &FilterSlots) -> (u64, Option<u64>) {
        (
            slots.current().generation,
            slots.previous().map(|p| p.generation),
        )
    }

    #[test]
    fn a_new_set_fades_in_over_the_crossfade_and_the_old_one_retires() {
        let mut slots = FilterSlots::new(filter_set(1));
        slots.install(filter_set(2), false);
        assert_eq!(generations(&slots), (2, Some(1)));
        let mut weights = vec![slots.fade_in()];
        for _ in 0..CROSSFADE_FRAMES {
            slots.end_frame();
            weights.push(slots.fade_in());
        }
        assert_eq!(weights, [1.0 / 3.0, 2.0 / 3.0, 1.0]);
        assert_eq!(generations(&slots), (2, None));
        assert_eq!(slots.take_retired().map(|s| s.generation), Some(1));
        assert!(slots.take_retired().is_none());
    }

    #[test]
    fn while_a_fade_runs_only_the_newest_design_waits() {
        let mut slots = FilterSlots::new(filter_set(1));
        slots.install(filter_set(2), false);
        slots.install(filter_set(3), false);
        slots.install(filter_set(4), false);
        assert_eq!(slots.newest_generation(), 4);
        assert_eq!(slots.take_retired().map(|s| s.generation), Some(3));
        for _ in 0..CROSSFADE_FRAMES {
            slots.end_frame();
        }
        // Set 2 has faded in; the waiting set 4 now fades in over it.
        assert_eq!(generations(&slots), (4, Some(2)));
        assert_eq!(slots.take_retired().map(|s| s.generation), Some(1));
    }

    #[test]
    fn at_once_replaces_every_set_and_marks_caches_stale() {
        let mut slots = FilterSlots::new(filter_set(1));
        slots.install(filter_set(2), false);
        slots.install(filter_set(3), false);
        let epoch = slots.epoch();
        slots.install(filter_set(4), true);
        assert_ne!(slots.epoch(), epoch);
        assert_eq!(generations(&slots), (4, None));
        let mut retired: Vec<u64> = std::iter::from_fn(|| slots.take_retired())
            .map(|s| s.generation)
            .collect();
        retired.sort();
        assert_eq!(retired, [1, 2, 3]);
    }

    #[test]
    fn the_ear_fade_counts_samples_from_the_start_of_the_fade() {
        let mut slots = FilterSlots::new(filter_set(1));
        assert!(slots.ear_fade().is_none());
        slots.install(filter_set(2), false);
        slots.advance(100);
        let (from, since) = slots.ear_fade().expect("a fade runs");
        assert_eq!((from.generation, since), (1, 100));
    }
}
