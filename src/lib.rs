pub mod design;
pub mod dsp;
pub mod render;
pub mod testmix;
