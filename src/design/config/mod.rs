//! What a design is for: the settings every block reads, and the geometry presets.

pub mod presets;
pub mod settings;
