//! Memory per plugin instance, measured on the heap (every byte the process allocates passes
//! through a counting allocator): what one activated instance holds, that hundreds of
//! redesigns leave it bounded, and that deactivating gives everything back. One test in its
//! own binary, so that no other test's allocations are counted.

mod common;

use common::{activate, heap_in_use, HostParams};
use soundstage::design::config::presets;
use soundstage::design::config::settings::Settings;
use soundstage::dsp::contract::{FrameLayout, LatencyMode};
use soundstage::offline::test_mix::TestMix;
use std::sync::atomic::Ordering;
use std::time::Duration;

const SR: f64 = 48_000.0;

/// Resident set size of this process, bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn an_instance_holds_a_bounded_heap_through_redesigns_and_returns_it() {
    let base = presets::find("soundbar")
        .unwrap()
        .apply(&Settings::default());
    let outputs = 3;
    let mix = TestMix::generate(SR, 2.0, 8);
    let baseline = heap_in_use();
    let rss_before = resident_bytes();
    let params = HostParams::new(&base);
    let (mut processor, worker) = activate(base, outputs, 4096, SR, &params);
    // What one filter set weighs: three complex matrices per bin, and the centre share.
    let bins = FrameLayout::new(SR, LatencyMode::Normal).bins();
    let set_bytes = (3 * bins * outputs * 3 * 8 + bins * 4) as i64;
    let settled = |processor: &mut soundstage::dsp::processor::Processor| {
        // Let the designer finish and collect what the engine returned.
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(10));
            processor.poll();
        }
        heap_in_use() - baseline
    };
    let mut buffers = vec![vec![0.0f32; 512]; outputs];
    let mut play = |processor: &mut soundstage::dsp::processor::Processor, blocks: usize| {
        for b in 0..blocks {
            let at = (b * 512) % (mix.left.len() - 512);
            buffers[0].copy_from_slice(&mix.left[at..at + 512]);
            buffers[1].copy_from_slice(&mix.right[at..at + 512]);
            let mut channels: Vec<&mut [f32]> = buffers.iter_mut().map(|b| &mut b[..]).collect();
            processor.process(base.controls(), &mut channels, None);
        }
    };
    play(&mut processor, 100);
    let active = settled(&mut processor);
    let rss_active = resident_bytes();
    for i in 0..300 {
        params
            .cancellation_db
            .store(5.0 + (i % 25) as f64, Ordering::Relaxed);
        params
            .depth
            .store((i % 10) as f64 / 10.0, Ordering::Relaxed);
        params.changed();
        play(&mut processor, 8);
        std::thread::sleep(Duration::from_millis(2));
    }
    // Wait for the last design, then play long enough for its crossfade to finish.
    settled(&mut processor);
    play(&mut processor, 20);
    let after_redesigns = settled(&mut processor);
    drop(processor);
    drop(worker);
    let released = heap_in_use() - baseline;
    let mb = |b: i64| b as f64 / 1048576.0;
    println!(
        "one 2-in/{outputs}-out instance at 48 kHz: {:.2} MB of heap active ({:.2} MB per filter set), \
         {:.2} MB after 300 redesigns, {:.3} MB left after deactivation; resident set grew by {:.1} MB",
        mb(active),
        mb(set_bytes),
        mb(after_redesigns),
        mb(released),
        match (rss_before, rss_active) {
            (Some(a), Some(b)) => (b as f64 - a as f64) / 1048576.0,
            _ => f64::NAN,
        }
    );
    assert!(
        active < 16 * set_bytes,
        "an active instance holds {:.1} MB",
        mb(active)
    );
    assert!(
        after_redesigns <= active + 2 * set_bytes,
        "redesigns grew the heap from {:.2} to {:.2} MB",
        mb(active),
        mb(after_redesigns)
    );
    assert!(
        released.abs() < 64 * 1024,
        "deactivation left {:.3} MB behind",
        mb(released)
    );
}
