//! Which instruction set the hot per-bin loops run in. The loops are written once, plainly;
//! on x86-64 CPUs with AVX2 and FMA (nearly every CPU a DAW runs on) they are compiled a
//! second time for those and chosen at run time, which doubles the width of every vector
//! operation against the SSE2 baseline the build targets.

/// The loop version this CPU runs. Only [`Simd::detect`] makes one, so holding a `Simd` that
/// says AVX2 proves the CPU was checked for it: safe code cannot claim an instruction set.
///
/// ```compile_fail
/// // Before, this compiled on any CPU and `run` then executed AVX2 code on it.
/// let claimed = soundstage::dsp::simd::Simd::Avx2Fma;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Simd(Isa);

/// The instruction sets the loops are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
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
                return Simd(Isa::Avx2Fma);
            }
        }
        Simd(Isa::Baseline)
    }

    /// Runs `kernel`, compiled for this instruction set.
    #[inline(always)]
    pub fn run<K: Kernel>(self, kernel: K) -> K::Output {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: only `detect` makes a `Simd`, and it says Avx2Fma only after checking
            // that this CPU has both features.
            Isa::Avx2Fma => unsafe { run_avx2_fma(kernel) },
            _ => kernel.run(),
        }
    }
}

/// A hot loop with its operands. Implementations mark `run` `#[inline(always)]`: that is
/// what compiles the loop inside the AVX2 function that dispatches it. (A closure would be
/// inlined or not at the optimiser's discretion, and one that is not runs its loop in SSE2.)
pub trait Kernel {
    /// What the loop returns.
    type Output;
    /// The loop itself.
    fn run(self) -> Self::Output;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}
