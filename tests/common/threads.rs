//! This process's threads as the system lists them (Linux `/proc/self/task`), for the tests
//! and benches that check which threads run and what they cost. A module of its own (not in
//! `common/mod.rs`, which installs a counting allocator) so that any test or bench can take
//! it with `#[path]`.

/// Names of this process's threads now, sorted, as the system truncates them (15 bytes).
#[allow(dead_code)]
pub fn threads() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect();
    names.sort();
    names
}

/// CPU seconds (user and system) the thread named `name` (as the system truncates it) has
/// used, if it runs.
#[allow(dead_code)]
pub fn thread_cpu_s(name: &str) -> Option<f64> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .and_then(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // The fields after the parenthesised name; utime and stime are the 12th and 13th.
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
}
