//! Which instruction set the hot per-bin loops run in. The loops are written once, plainly;
//! on x86-64 CPUs with AVX2 and FMA (nearly every CPU a DAW runs on) they are compiled a
//! second time for those and chosen at run time, which doubles the width of every vector
//! operation against the SSE2 baseline the build targets.

/// The loop versions this CPU can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// The build's baseline (SSE2 on x86-64).
    Baseline,
    /// x86-64 with AVX2 and FMA.
    Avx2Fma,
}

impl Simd {
    /// The best version this CPU supports (checked once, when an engine is built).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Simd::Avx2Fma;
            }
        }
        Simd::Baseline
    }

    /// Runs `f`, compiled for this instruction set (`f` must be `#[inline(always)]` code for
    /// the choice to reach its loops).
    #[inline(always)]
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` returned Avx2Fma only after checking that the CPU has both.
            Simd::Avx2Fma => unsafe { run_avx2_fma(f) },
            _ => f(),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}
