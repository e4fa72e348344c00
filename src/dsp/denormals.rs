//! Flush-to-zero and denormals-are-zero for the duration of a processing call, so that a
//! filter decaying into silence costs no more than music. The plugin wrapper can also do
//! this; doing it here makes the CLI, tests and benchmarks run exactly as the plugin does.

/// Restores the previous floating-point control state when dropped.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    previous: u32,
    #[cfg(target_arch = "aarch64")]
    previous: u64,
}

impl FlushDenormals {
    /// Sets FTZ and DAZ (x86-64) or FZ (AArch64) until the guard is dropped.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut previous: u32 = 0;
            // SAFETY: stmxcsr/ldmxcsr read and write the SSE control register of this thread
            // only; bits 15 (FTZ) and 6 (DAZ) change rounding of subnormals, nothing else.
            unsafe {
                std::arch::asm!("stmxcsr [{}]", in(reg) &mut previous, options(nostack));
                let wanted = previous | (1 << 15) | (1 << 6);
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
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let half = std::hint::black_box(0.5f32);
        {
            let _guard = FlushDenormals::new();
            assert_eq!(std::hint::black_box(tiny * half), 0.0);
        }
        assert!(std::hint::black_box(tiny * half) > 0.0);
    }
}
