//! The headphone preview's ear filters as a uniformly partitioned convolution without added
//! latency: the first `block` taps of each ear response are a direct-form dot product per
//! sample, the rest are applied once per block in the frequency domain (overlap-save on
//! blocks of `block` samples, one forward FFT per driver and one inverse per ear and set a
//! block). A direct form alone costs taps × drivers × 2 per sample, and the taps grow with
//! the rate, so its cost per second of audio grew with the square of the rate; this grows
//! little faster than the rate.

use crate::dsp::contract::FilterSet;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Partition length, samples (the direct-form part of every response).
const BLOCK: usize = 64;

/// What the convolver caches of one filter set: its responses' partition spectra.
struct SetSpectra {
    /// The set's address while it is alive, and the slots' epoch it was cached at.
    key: Option<(usize, u64)>,
    /// `[ear][driver][partition 1..][bin]`.
    spectra: Vec<Complex32>,
    /// `[ear][sample]`: the partitions' sum for the block being played.
    tails: [Vec<f32>; 2],
}

/// The partitioned ear convolution of one output stage.
pub struct EarConvolver {
    /// Partition length.
    block: usize,
    /// Partitions after the direct one.
    parts: usize,
    /// Drivers (outputs).
    drivers: usize,
    /// Taps of every response.
    taps: usize,
    /// Transforms of two blocks, planned once.
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    /// Two blocks of samples, the transforms' input or output.
    time: Vec<f32>,
    /// One ear's sum of partition products, before its inverse transform.
    spectrum: Vec<Complex32>,
    /// The transforms' scratch space.
    scratch: Vec<Complex32>,
    /// `[driver][ring entry][bin]`: spectra of the last `parts` blocks of each feed (each
    /// over the two blocks ending with it).
    inputs: Vec<Complex32>,
    /// The ring entry holding the newest block.
    newest: usize,
    /// Whether `inputs` and the tails follow the feeds (false after a pause or a reset).
    current_inputs: bool,
    /// Samples into the block being played.
    phase: usize,
    /// The current set's cache (0) and the fading-out set's (1).
    sets: [SetSpectra; 2],
}

impl EarConvolver {
    /// A convolver for `drivers` feeds through responses of `taps` taps.
    pub fn new(drivers: usize, taps: usize) -> Self {
        let block = BLOCK.min(taps).max(1);
        let parts = taps.div_ceil(block) - 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let (forward, inverse) = (
            planner.plan_fft_forward(2 * block),
            planner.plan_fft_inverse(2 * block),
        );
        let bins = block + 1;
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let set = || SetSpectra {
            key: None,
            spectra: vec![Complex32::default(); 2 * drivers * parts * bins],
            tails: [vec![0.0; block], vec![0.0; block]],
        };
        Self {
            block,
            parts,
            drivers,
            taps,
            forward,
            inverse,
            time: vec![0.0; 2 * block],
            spectrum: vec![Complex32::default(); bins],
            scratch: vec![Complex32::default(); scratch_len],
            inputs: vec![Complex32::default(); drivers * parts.max(1) * bins],
            newest: 0,
            current_inputs: false,
            phase: 0,
            sets: [set(), set()],
        }
    }

    /// Keeps the block clock while the preview is off. The input spectra go stale, and so
    /// do the cached sets: one may be freed meanwhile and a new one made at its address.
    pub fn skip(&mut self, n: usize) {
        self.phase = (self.phase + n) % self.block;
        self.forget();
    }

    /// Forgets the feeds (and, as in [`Self::skip`], the cached sets).
    pub fn reset(&mut self) {
        self.forget();
    }

    fn forget(&mut self) {
        self.current_inputs = false;
        for set in &mut self.sets {
            set.key = None;
        }
    }

    /// Makes the caches match `current` and `previous` (`epoch` says when the slots last
    /// changed) and, if they had gone stale, the input spectra match `history`, whose sample
    /// at doubled-ring index `end` is the last one before the chunk about to play.
    pub fn prepare(
        &mut self,
        current: &FilterSet,
        previous: Option<&FilterSet>,
        epoch: u64,
        history: &[Vec<f32>],
        end: usize,
    ) {
        if self.parts == 0 {
            return;
        }
        let mut changed = !self.current_inputs;
        if !self.current_inputs {
            // The spectra of the last `parts` whole blocks before the block being played.
            let last_block_end = end - self.phase;
            for age in (0..self.parts).rev() {
                self.push_inputs(history, last_block_end - age * self.block);
            }
            self.current_inputs = true;
        }
        let key = |set: &FilterSet| Some((set as *const FilterSet as usize, epoch));
        if self.sets[0].key != key(current) {
            let old_current = self.sets[0].key.map(|(address, _)| address);
            if previous.is_some_and(|p| Some(p as *const FilterSet as usize) == old_current) {
                self.sets.swap(0, 1);
                self.sets[1].key = previous.and_then(key);
            } else {
                self.sets[1].key = None;
            }
            self.cache(0, current);
            self.sets[0].key = key(current);
            changed = true;
        }
        if let Some(p) = previous {
            if self.sets[1].key.is_none() {
                self.cache(1, p);
                self.sets[1].key = key(p);
                changed = true;
            }
        }
        if changed {
            self.update_tails(previous.is_some());
        }
    }

    /// What `ear` hears of sample `j` of the chunk through `set` (slot 0: current, 1: the
    /// set fading out): the direct part from `history` windows ending at doubled-ring index
    /// `at`, plus the partitions' part for this sample of the block.
    pub fn heard(
        &self,
        slot: usize,
        set: &FilterSet,
        ear: usize,
        history: &[Vec<f32>],
        at: usize,
    ) -> f64 {
        let block = self.block;
        let direct: f64 = history
            .iter()
            .enumerate()
            .map(|(driver, feed)| {
                let response = set.ear_response(ear, driver);
                super::output_stage::dot(&feed[at + 1 - block..=at], &response[self.taps - block..])
            })
            .sum();
        let tail = if self.parts == 0 {
            0.0
        } else {
            self.sets[slot].tails[ear][self.phase] as f64
        };
        direct + tail
    }

    /// Moves on by one sample, whose history index is `at`; at the end of a block, takes
    /// the block's spectra and works out the next block's partitions (for the set fading
    /// out too, when `fading`).
    pub fn advance(&mut self, history: &[Vec<f32>], at: usize, fading: bool) {
        self.phase += 1;
        if self.phase == self.block {
            self.phase = 0;
            if self.parts > 0 {
                self.push_inputs(history, at);
                self.update_tails(fading);
            }
        }
    }

    /// Adds the spectra of the two blocks ending at doubled-ring index `end` of each feed.
    fn push_inputs(&mut self, history: &[Vec<f32>], end: usize) {
        let bins = self.block + 1;
        self.newest = (self.newest + 1) % self.parts;
        for (driver, feed) in history.iter().enumerate().take(self.drivers) {
            self.time
                .copy_from_slice(&feed[end + 1 - 2 * self.block..=end]);
            let at = (driver * self.parts + self.newest) * bins;
            let out = &mut self.inputs[at..at + bins];
            // realfft fails only on buffers of the wrong length, which these are not.
            let _ = self
                .forward
                .process_with_scratch(&mut self.time, out, &mut self.scratch);
        }
    }

    /// The partitions' sum for the block about to play, for the current set (and the one
    /// fading out).
    fn update_tails(&mut self, fading: bool) {
        let bins = self.block + 1;
        let scale = 1.0 / (2 * self.block) as f32;
        for slot in 0..if fading { 2 } else { 1 } {
            for ear in 0..2 {
                self.spectrum.fill(Complex32::default());
                for driver in 0..self.drivers {
                    for part in 0..self.parts {
                        // Partition `part + 1` acts on the block `part` blocks before the
                        // newest.
                        let entry = (self.newest + self.parts - part) % self.parts;
                        let x = (driver * self.parts + entry) * bins;
                        let h = ((ear * self.drivers + driver) * self.parts + part) * bins;
                        let (xs, hs) = (
                            &self.inputs[x..x + bins],
                            &self.sets[slot].spectra[h..h + bins],
                        );
                        for ((acc, a), b) in self.spectrum.iter_mut().zip(xs).zip(hs) {
                            *acc += a * b;
                        }
                    }
                }
                let _ = self.inverse.process_with_scratch(
                    &mut self.spectrum,
                    &mut self.time,
                    &mut self.scratch,
                );
                let tail = &mut self.sets[slot].tails[ear];
                for (t, v) in tail.iter_mut().zip(&self.time[self.block..]) {
                    *t = v * scale;
                }
            }
        }
    }

    /// Caches `set`'s partition spectra in `slot`.
    fn cache(&mut self, slot: usize, set: &FilterSet) {
        let (block, bins, taps) = (self.block, self.block + 1, self.taps);
        for ear in 0..2 {
            for driver in 0..self.drivers {
                // The responses are stored time-reversed: tap k of the response is entry
                // taps − 1 − k.
                let reversed = set.ear_response(ear, driver);
                for part in 0..self.parts {
                    self.time.fill(0.0);
                    for k in 0..block {
                        let tap = (part + 1) * block + k;
                        if tap < taps {
                            self.time[k] = reversed[taps - 1 - tap];
                        }
                    }
                    let h = ((ear * self.drivers + driver) * self.parts + part) * bins;
                    let out = &mut self.sets[slot].spectra[h..h + bins];
                    let _ =
                        self.forward
                            .process_with_scratch(&mut self.time, out, &mut self.scratch);
                }
            }
        }
    }
}
