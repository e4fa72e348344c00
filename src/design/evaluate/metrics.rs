//! The figures every claim about the sound rests on, computed from a design's actual filters
//! (after FIR truncation) and a simulated listener: separation, its target, filter gain,
//! virtual-speaker ITD/ILD, beam pattern, mono-sum deviation. Shared by the tests, the
//! `report` command and the editor's plots.

use crate::design::config::settings::Mode;
use crate::design::evaluate::simulate::{chain_ear_responses, ears_at_bins};
use crate::design::filters::bands::{band_means, band_ratio_db, mean_db};
use crate::design::filters::beam::{self, BeamSpec};
use crate::design::filters::chain::Design;
use crate::design::model::geometry::Geometry;
use crate::design::model::plant::{Plant, SphereHead};
use crate::design::C64;
use crate::dsp::contract::{FilterSet, UPMIX_CHANNELS};
use realfft::RealFftPlanner;

/// The band the brief's separation figures are averaged over, Hz.
pub const SEPARATION_BAND: (f64, f64) = (300.0, 6000.0);

/// The lateral move of the quick robustness figure ("a listener 5 cm off"), metres: the
/// editor's and the report's second curve, and the ±5 cm rows of the robustness set.
pub const NEARBY_OFFSET_M: f64 = 0.05;

/// A listener who is not the one the design assumed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Perturbation {
    /// Short label for reports ("+5 cm", "head +10 %").
    pub label: &'static str,
    /// Lateral move of the listener from the design position, metres.
    pub offset_m: f64,
    /// Head radius relative to the design head.
    pub head_scale: f64,
}

/// The brief's robustness set: nominal, listener ±2/±5/±10 cm, head radius ±10 %.
pub fn standard_perturbations() -> Vec<Perturbation> {
    let p = |label, offset_m, head_scale| Perturbation {
        label,
        offset_m,
        head_scale,
    };
    vec![
        p("nominal", 0.0, 1.0),
        p("+2 cm", 0.02, 1.0),
        p("-2 cm", -0.02, 1.0),
        p("+5 cm", NEARBY_OFFSET_M, 1.0),
        p("-5 cm", -NEARBY_OFFSET_M, 1.0),
        p("+10 cm", 0.10, 1.0),
        p("-10 cm", -0.10, 1.0),
        p("head +10 %", 0.0, 1.1),
        p("head -10 %", 0.0, 0.9),
    ]
}

impl Perturbation {
    /// Whether this is the design's own listener (the first of the robustness set).
    pub fn is_nominal(&self) -> bool {
        self.offset_m == 0.0 && self.head_scale == 1.0
    }

    /// Whether this is the listener [`NEARBY_OFFSET_M`] to one side.
    pub fn is_nearby(&self) -> bool {
        self.head_scale == 1.0 && (self.offset_m.abs() - NEARBY_OFFSET_M).abs() < 1e-12
    }

    /// The listener's geometry for a design made for `design_geometry`.
    pub fn geometry(&self, design_geometry: &Geometry) -> Geometry {
        design_geometry.with_offset(design_geometry.offset_m + self.offset_m)
    }
}

/// Separation at the ears for a one-sided input, per third-octave band (dB) and its mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Separation {
    /// `(centre Hz, dB)` per band.
    pub bands: Vec<(f64, f64)>,
    /// Mean of the band dB values.
    pub mean_db: f64,
}

/// Separation of the chain in `design` for a listener `listener_geometry` heard through
/// `plant`, for a one-sided input on channel `side` (0 left, 1 right), at `width`.
pub fn separation(
    design: &Design,
    plant: &dyn Plant,
    listener_geometry: &Geometry,
    side: usize,
    width: f64,
) -> Separation {
    let sr = design.input.sample_rate;
    let reference = design
        .input
        .settings
        .geometry(design.filters.outputs)
        .reference()
        .distance_m;
    let ears = ears_at_bins(plant, listener_geometry, reference, &design.filters, sr);
    let chain = chain_ear_responses(&design.filters, &ears, design.input.settings.mode, width);
    let wanted: Vec<f64> = chain.iter().map(|e| e[side][side].norm_sqr()).collect();
    let other: Vec<f64> = chain.iter().map(|e| e[1 - side][side].norm_sqr()).collect();
    let bands = band_ratio_db(
        &design.freqs,
        &wanted,
        &other,
        SEPARATION_BAND.0,
        SEPARATION_BAND.1,
    );
    Separation {
        mean_db: mean_db(&bands),
        bands,
    }
}

/// The worse of the two sides' separations (a listener off to one side favours one ear).
pub fn worst_separation(
    design: &Design,
    plant: &dyn Plant,
    listener_geometry: &Geometry,
    width: f64,
) -> Separation {
    let a = separation(design, plant, listener_geometry, 0, width);
    let b = separation(design, plant, listener_geometry, 1, width);
    if a.mean_db <= b.mean_db {
        a
    } else {
        b
    }
}

/// Separation on the built-in sphere, moved or resized by `perturbation`.
pub fn perturbed_separation(design: &Design, perturbation: &Perturbation) -> Separation {
    perturbed_separation_on(design, &SphereHead::default(), perturbation)
        .expect("the sphere can be resized")
}

/// Separation heard through `plant`, the listener moved or resized by `perturbation`
/// (`None` for a resize the plant cannot make).
pub fn perturbed_separation_on(
    design: &Design,
    plant: &dyn Plant,
    perturbation: &Perturbation,
) -> Option<Separation> {
    let g = perturbation.geometry(&design.input.settings.geometry(design.filters.outputs));
    if perturbation.head_scale == 1.0 {
        return Some(worst_separation(design, plant, &g, 1.0));
    }
    let head = plant.resized(perturbation.head_scale)?;
    Some(worst_separation(design, head.as_ref(), &g, 1.0))
}

/// Target and achieved separation per third-octave band for the left input: `(centre Hz,
/// target dB, achieved dB, boost-limited)`. Achieved is measured on the truncated filters.
pub fn target_tracking(design: &Design, plant: &dyn Plant) -> Vec<(f64, f64, f64, bool)> {
    let Some(ctc) = design.mode.ctc() else {
        return Vec::new();
    };
    let geometry = design.input.settings.geometry(design.filters.outputs);
    let achieved = separation(design, plant, &geometry, 0, 1.0);
    let target: Vec<f64> = ctc.target_db.iter().map(|t| t[0]).collect();
    let limited: Vec<f64> = ctc
        .limited
        .iter()
        .map(|l| if l[0] { 1.0 } else { 0.0 })
        .collect();
    // Averaged as the achieved figure is: the band's ipsilateral energy over its
    // contralateral energy, with the target's contralateral level per bin (where the target
    // slopes inside a band, the mean of its dB values would overstate it).
    let target_contra: Vec<f64> = target.iter().map(|t| 10f64.powf(-t / 10.0)).collect();
    let ones = vec![1.0; target.len()];
    let target_bands = band_ratio_db(
        &design.freqs,
        &ones,
        &target_contra,
        SEPARATION_BAND.0,
        SEPARATION_BAND.1,
    );
    let limited_bands = band_means(
        &design.freqs,
        &limited,
        SEPARATION_BAND.0,
        SEPARATION_BAND.1,
    );
    achieved
        .bands
        .iter()
        .zip(target_bands.iter().zip(&limited_bands))
        .map(|(&(fc, a), (&(_, t), &(_, l)))| (fc, t, a, l > 0.0))
        .collect()
}

/// Per bin, the largest magnitude of any side-channel driver filter at full width, dB (the
/// quantity the boost limit caps), after the bass split where the set has one. The bulk
/// delay has magnitude one, so it does not count.
pub fn side_filter_gain_db(filters: &FilterSet) -> Vec<f64> {
    (0..filters.layout.bins())
        .map(|k| {
            let high = filters.split_response(k).1.norm();
            let worst = high
                * (0..filters.outputs)
                    .flat_map(|out| (0..2).map(move |ch| (out, ch)))
                    .map(|(out, ch)| {
                        let i = filters.index(k, out, ch);
                        (filters.base.get(i) + filters.width_delta.get(i)).norm() as f64
                    })
                    .fold(0.0, f64::max);
            20.0 * worst.max(1e-12).log10()
        })
        .collect()
}

/// Largest magnitude of any side-channel driver filter at full width, dB.
pub fn max_side_filter_gain_db(filters: &FilterSet) -> f64 {
    side_filter_gain_db(filters)
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Impulse responses from the static chain's frequency responses: `spectra` per bin
/// (bins = fft_len/2 + 1), upsampled `factor` times by zero-padding in frequency.
fn impulse_response(spectrum: &[C64], factor: usize) -> Vec<f64> {
    let bins = spectrum.len();
    let fft_len = (bins - 1) * 2 * factor;
    let mut planner = RealFftPlanner::<f64>::new();
    let inverse = planner.plan_fft_inverse(fft_len);
    let mut spec = vec![C64::new(0.0, 0.0); fft_len / 2 + 1];
    spec[..bins].copy_from_slice(spectrum);
    spec[0].im = 0.0;
    // The original Nyquist bin becomes an interior bin; halve it so energy is not doubled.
    spec[bins - 1] *= 0.5;
    let last = spec.len() - 1;
    spec[last].im = 0.0;
    let mut out = vec![0.0; fft_len];
    inverse
        .process(&mut spec, &mut out)
        .expect("buffers sized by the plan");
    out
}

/// Interaural time difference of two ear impulse responses (seconds), from the peak of
/// their cross-correlation with parabolic refinement: positive when `late` lags `early`.
pub fn itd_from_responses(early: &[C64], late: &[C64], sample_rate: f64) -> f64 {
    let factor = 8;
    let cross: Vec<C64> = late.iter().zip(early).map(|(l, e)| l * e.conj()).collect();
    let xc = impulse_response(&cross, factor);
    let n = xc.len();
    let (mut best, mut best_i) = (f64::MIN, 0usize);
    for (i, v) in xc.iter().enumerate() {
        if *v > best {
            best = *v;
            best_i = i;
        }
    }
    let at = |i: isize| xc[((i % n as isize) + n as isize) as usize % n];
    let (y0, y1, y2) = (
        at(best_i as isize - 1),
        at(best_i as isize),
        at(best_i as isize + 1),
    );
    let denom = y0 - 2.0 * y1 + y2;
    let frac = if denom.abs() > 1e-300 {
        0.5 * (y0 - y2) / denom
    } else {
        0.0
    };
    let mut lag = best_i as f64 + frac;
    if lag > n as f64 / 2.0 {
        lag -= n as f64;
    }
    lag / (factor as f64 * sample_rate)
}

/// Virtual-speaker cues at the ears for a hard-left input: achieved ITD (s), and per band
/// the achieved ILD against the head model's at theta_v (dB, `(centre, achieved, model)`).
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualCues {
    /// Achieved interaural time difference, seconds.
    pub itd_s: f64,
    /// Woodworth's ITD at the virtual angle, seconds.
    pub model_itd_s: f64,
    /// `(centre Hz, achieved ILD dB, model ILD dB)`.
    pub ild_bands: Vec<(f64, f64, f64)>,
    /// Ipsilateral magnitude per band relative to the input, dB.
    pub ipsilateral_bands: Vec<(f64, f64)>,
}

/// Measures the virtual speakers of `design` at the ears of its own nominal listener.
pub fn virtual_cues(design: &Design, plant: &dyn Plant) -> Option<VirtualCues> {
    let speaker = design.mode.virtual_speaker()?;
    let sr = design.input.sample_rate;
    let geometry = design.input.settings.geometry(design.filters.outputs);
    let ears = ears_at_bins(
        plant,
        &geometry,
        geometry.reference().distance_m,
        &design.filters,
        sr,
    );
    let chain = chain_ear_responses(&design.filters, &ears, design.input.settings.mode, 1.0);
    let ipsi: Vec<C64> = chain.iter().map(|e| e[0][0]).collect();
    let contra: Vec<C64> = chain.iter().map(|e| e[1][0]).collect();
    let itd_s = itd_from_responses(&ipsi, &contra, sr);
    let ipsi_p: Vec<f64> = ipsi.iter().map(|v| v.norm_sqr()).collect();
    let contra_p: Vec<f64> = contra.iter().map(|v| v.norm_sqr()).collect();
    let model: Vec<f64> = design
        .freqs
        .iter()
        .map(|&f| speaker.ild(f).powi(2))
        .collect();
    let achieved = band_ratio_db(&design.freqs, &contra_p, &ipsi_p, 100.0, 16000.0);
    let model_bands = band_means(&design.freqs, &model, 100.0, 16000.0);
    let ild_bands = achieved
        .iter()
        .zip(&model_bands)
        .map(|(&(fc, a), &(_, m))| (fc, a, 10.0 * m.log10()))
        .collect();
    // Ipsilateral level relative to the all-pass it should be (the plain feed's level).
    let level = design.mode.ctc().map_or(1.0, |c| c.ipsi_target[0].0);
    let ones = vec![level * level; design.freqs.len()];
    let ipsilateral_bands = band_ratio_db(&design.freqs, &ipsi_p, &ones, 100.0, 16000.0);
    Some(VirtualCues {
        itd_s,
        model_itd_s: speaker.itd_s(),
        ild_bands,
        ipsilateral_bands,
    })
}

/// The centre channel's far-field directivity from the actual filters: weights per bin are
/// the C column divided by the bulk delay and by 2 (C reaches the drivers of both sides).
pub fn centre_weights_at(filters: &FilterSet, bin: usize, sample_rate: f64) -> Vec<C64> {
    let f = bin as f64 * sample_rate / filters.layout.fft_len as f64;
    let undelay = C64::from_polar(
        0.5,
        2.0 * std::f64::consts::PI * f * filters.layout.bulk_delay as f64 / sample_rate,
    );
    (0..filters.outputs)
        .map(|out| filters.response(bin, out, 2, 1.0) / filters.output_gain(1.0) * undelay)
        .collect()
}

/// Beam response (dB re on-axis) of the centre at `azimuths_deg` for every bin frequency.
pub fn beam_pattern(design: &Design, azimuths_deg: &[f64]) -> Vec<Vec<f64>> {
    let x = design.beam.positions();
    let sr = design.input.sample_rate;
    (0..design.filters.layout.bins())
        .map(|k| {
            let w = centre_weights_at(&design.filters, k, sr);
            let f = design.freqs[k];
            let on = beam::response(&w, &x, f, 0.0).norm_sqr().max(1e-30);
            azimuths_deg
                .iter()
                .map(|a| {
                    10.0 * (beam::response(&w, &x, f, a.to_radians()).norm_sqr() / on)
                        .max(1e-12)
                        .log10()
                })
                .collect()
        })
        .collect()
}

/// The beam figures the brief asks for, over `band` (Hz), per third-octave band averaged.
#[derive(Clone, Debug, PartialEq)]
pub struct BeamFigures {
    /// Mean of band on-axis/±90° power ratios, dB.
    pub front_to_side_db: f64,
    /// Mean of band ±45° responses re on-axis, dB.
    pub response_45_db: f64,
    /// Lowest white-noise gain over the band, dB.
    pub min_white_noise_gain_db: f64,
}

/// Beam figures for weights `weights_at(bin)` over `band`.
pub fn beam_figures(
    freqs: &[f64],
    positions: &[f64],
    band: (f64, f64),
    weights_at: impl Fn(usize) -> Vec<C64>,
) -> BeamFigures {
    let mut ratio = Vec::new();
    let mut r45 = Vec::new();
    let mut wng = f64::INFINITY;
    for (k, &f) in freqs.iter().enumerate() {
        let w = weights_at(k);
        let on = beam::response(&w, positions, f, 0.0).norm_sqr();
        let side = 0.5
            * (beam::response(&w, positions, f, 90f64.to_radians()).norm_sqr()
                + beam::response(&w, positions, f, (-90f64).to_radians()).norm_sqr());
        let q = 0.5
            * (beam::response(&w, positions, f, 45f64.to_radians()).norm_sqr()
                + beam::response(&w, positions, f, (-45f64).to_radians()).norm_sqr());
        ratio.push(on / side.max(1e-30));
        r45.push(q / on.max(1e-30));
        if f >= band.0 && f <= band.1 * 1.06 {
            wng = wng.min(beam::white_noise_gain_db(&w));
        }
    }
    let to_db = |v: &[(f64, f64)]| {
        v.iter()
            .map(|(c, x)| (*c, 10.0 * x.log10()))
            .collect::<Vec<_>>()
    };
    let ratio_bands = to_db(&band_means(freqs, &ratio, band.0, band.1));
    let r45_bands = to_db(&band_means(freqs, &r45, band.0, band.1));
    BeamFigures {
        front_to_side_db: mean_db(&ratio_bands),
        response_45_db: mean_db(&r45_bands),
        min_white_noise_gain_db: wng,
    }
}

/// The beam figures of a design's centre channel over `band`.
pub fn design_beam_figures(design: &Design, band: (f64, f64)) -> BeamFigures {
    let sr = design.input.sample_rate;
    beam_figures(&design.freqs, &design.beam.positions(), band, |k| {
        centre_weights_at(&design.filters, k, sr)
    })
}

/// The full-beam design weights with per-driver gain/phase errors applied (for robustness).
pub fn perturbed_weights(spec: &BeamSpec, freq_hz: f64, errors: &[(f64, f64)]) -> Vec<C64> {
    beam::beam_weights(spec, freq_hz)
        .iter()
        .zip(errors)
        .map(|(w, (gain_db, phase_deg))| {
            C64::from_polar(w * 10f64.powf(gain_db / 20.0), phase_deg.to_radians())
        })
        .collect()
}

/// How far the outputs' mono sum (all drivers added) departs from the input's (L + R), per
/// third-octave band for decorrelated and for centred input: `(centre, sides dB, centre dB)`.
pub fn mono_sum_deviation(filters: &FilterSet, width: f64, freqs: &[f64]) -> Vec<(f64, f64, f64)> {
    let n = filters.outputs;
    let mut sides = Vec::with_capacity(freqs.len());
    let mut centre = Vec::with_capacity(freqs.len());
    let delay = filters.layout.bulk_delay as f64;
    let fft_len = filters.layout.fft_len as f64;
    for k in 0..freqs.len() {
        let undelay = C64::from_polar(1.0, 2.0 * std::f64::consts::PI * k as f64 * delay / fft_len);
        let sum = |ch: usize| {
            (0..n)
                .map(|out| filters.response(k, out, ch, width))
                .sum::<C64>()
                * undelay
        };
        // Decorrelated sides: power of each side's mono sum against the plain one (1 each).
        sides.push(0.5 * (sum(0).norm_sqr() + sum(1).norm_sqr()));
        // Centre: C reaches the mono sum twice in plain stereo.
        centre.push(sum(2).norm_sqr() / 4.0);
    }
    let ones = vec![1.0; freqs.len()];
    let s = band_ratio_db(freqs, &sides, &ones, 50.0, 16000.0);
    let c = band_ratio_db(freqs, &centre, &ones, 50.0, 16000.0);
    s.iter()
        .zip(&c)
        .map(|(&(fc, a), &(_, b))| (fc, a, b))
        .collect()
}

/// Which upmix channels the figures above read, for documentation: L', R', C.
pub const CHANNEL_NAMES: [&str; UPMIX_CHANNELS] = ["L'", "R'", "C"];

/// Whether the design's mode uses the plant (speakers, binaural) or the outputs as ears.
pub fn listens_through_plant(mode: Mode) -> bool {
    mode != Mode::Headphones
}

/// The physics bound on robustness for a two-driver canceller: per third-octave band, the
/// best worst-side separation any pair of driver filters can give a listener moved by
/// ±`move_m`, among filters that still give the nominal listener at least `nominal_floor_db`.
/// Found by exhaustive search over the filter ratio (the only free quantity once the
/// ipsilateral level is fixed) on a fine complex grid. Returns `(centre Hz, bound dB)`.
pub fn two_driver_robustness_bound(
    geometry: &Geometry,
    plant: &dyn Plant,
    move_m: f64,
    nominal_floor_db: f64,
    band: (f64, f64),
) -> Vec<(f64, f64)> {
    assert_eq!(geometry.drivers, 2, "the bound is for a driver pair");
    let centres = crate::design::filters::bands::third_octave_centres(band.0, band.1);
    let positions = [
        geometry.with_offset(geometry.offset_m),
        geometry.with_offset(geometry.offset_m + move_m),
        geometry.with_offset(geometry.offset_m - move_m),
    ];
    let responses: Vec<_> = positions
        .iter()
        .map(|g| plant.ear_responses(g, &centres))
        .collect();
    let steps = 200;
    let extent = 4.0;
    centres
        .iter()
        .enumerate()
        .map(|(k, &fc)| {
            let mut best = f64::NEG_INFINITY;
            for a in 0..=steps {
                for b in 0..=steps {
                    let ratio = C64::new(
                        -extent + 2.0 * extent * a as f64 / steps as f64,
                        -extent + 2.0 * extent * b as f64 / steps as f64,
                    );
                    // Left input: driver 0 at unit gain, driver 1 at `ratio`.
                    let sep = |r: &crate::design::model::plant::EarResponses| {
                        let ipsi = r.get(k, 0, 0) + ratio * r.get(k, 0, 1);
                        let contra = r.get(k, 1, 0) + ratio * r.get(k, 1, 1);
                        10.0 * (ipsi.norm_sqr() / contra.norm_sqr().max(1e-300)).log10()
                    };
                    if sep(&responses[0]) >= nominal_floor_db {
                        best = best.max(sep(&responses[1]).min(sep(&responses[2])));
                    }
                }
            }
            (fc, best)
        })
        .collect()
}
