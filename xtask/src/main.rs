//! `cargo xtask bundle soundstage --release`: nice-plug's bundler, less one copy it makes.

use std::path::PathBuf;

/// nice-plug-xtask bundles a binary named after the package as the plugin's standalone. Ours
/// is the command-line tool (the standalone is `soundstage-standalone`), so that copy would be
/// a 15 MB CLI under the standalone's name: it is removed.
fn main() -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::main()?;
    if std::env::args().nth(1).as_deref() == Some("bundle") {
        // nice-plug-xtask has moved to the workspace root, where `target` is.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from);
        let mislabelled = target.join("bundled").join("Soundstage");
        if mislabelled.is_file() {
            std::fs::remove_file(&mislabelled)?;
            eprintln!(
                "Removed '{}': it was the command-line tool, not the standalone (build that with \
                 `cargo build --release --features standalone --bin soundstage-standalone`)",
                mislabelled.display()
            );
        }
    }
    Ok(())
}
