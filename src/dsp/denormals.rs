//! Flush-to-zero for the duration of a processing call, so that a filter decaying into
//! silence costs no more than music: the same control bit the plugin wrapper sets around
//! every host callback (nice-plug's `unsafe_flush_denormals`), set here too so that the CLI,
//! tests and benchmarks run exactly as the plugin does.
//!
//! What remains outside Rust's floating-point model, and why it is sound here: with FTZ set,
//! a result that IEEE arithmetic would make subnormal (below 1.2e-38) is zero at run time,
//! while the compiler, which assumes IEEE arithmetic, may fold or move the same operation
//! and produce the subnormal. Either value is a valid outcome for every use the engine makes
//! of such a number (an audio sample or a gain 230 dB below full scale); no branch, index
//! or allocation depends on one. Denormals-are-zero (DAZ), which would also change how
//! subnormal *inputs* are read, is not set: nothing relies on it. Subnormal operands can only
//! come from the host's input (the output then still flushes) or from filter coefficients,
//! and the design flushes those to zero (`FilterSet::flush_subnormals`).

/// MXCSR's flush-to-zero bit.
#[cfg(target_arch = "x86_64")]
const FTZ: u32 = 1 << 15;

/// Restores the previous floating-point control state when dropped.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    previous: u32,
    #[cfg(target_arch = "aarch64")]
    previous: u64,
}

impl FlushDenormals {
    /// Sets FTZ (x86-64) or FZ (AArch64) until the guard is dropped.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut previous: u32 = 0;
            // SAFETY: stmxcsr/ldmxcsr read and write the SSE control register of this thread
            // only; bit 15 (FTZ) flushes subnormal results, nothing else (see the module).
            unsafe {
                std::arch::asm!("stmxcsr [{}]", in(reg) &mut previous, options(nostack));
                let wanted = previous | FTZ;
                std::arch::asm!("ldmxcsr [{}]", in(reg) &wanted, options(nostack));
            }
            Self { previous }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let previous: u64;
            // SAFETY: FPCR is per-thread; bit 24 (FZ) flushes subnormals, nothing else changes.
            unsafe {
                std::arch::asm!("mrs {}, fpcr", out(reg) previous, options(nomem, nostack));
                std::arch::asm!("msr fpcr, {}", in(reg) previous | (1 << 24), options(nomem, nostack));
            }
            Self { previous }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Self {}
        }
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the value read in `new` on the same thread.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &self.previous, options(nostack));
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: restores the value read in `new` on the same thread.
        unsafe {
            std::arch::asm!("msr fpcr, {}", in(reg) self.previous, options(nomem, nostack));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormals_flush_inside_the_guard_only() {
        // Fresh opaque operands in each scope: the compiler, which knows nothing of FTZ, would
        // otherwise compute one product for both (exactly the liberty the module describes).
        let product = || std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5f32);
        {
            let _guard = FlushDenormals::new();
            assert_eq!(std::hint::black_box(product()), 0.0);
        }
        assert!(std::hint::black_box(product()) > 0.0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn only_flush_to_zero_is_set_never_denormals_are_zero() {
        let _guard = FlushDenormals::new();
        let mut mxcsr: u32 = 0;
        // SAFETY: reads this thread's SSE control register.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack)) };
        assert_ne!(mxcsr & FTZ, 0, "FTZ is set");
        assert_eq!(mxcsr & (1 << 6), 0, "DAZ is not set");
    }
}
