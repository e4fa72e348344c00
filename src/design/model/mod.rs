//! Acoustic models of the listener: the geometry of drivers and head, the plant interface
//! (what each ear receives from each driver) with its sphere, measured-head and
//! measured-device implementations, the SOFA readers, and the head choice a session stores.

pub mod device;
pub mod geometry;
pub mod head;
pub mod measured;
pub mod plant;
pub mod sofa;
pub mod sofa_device;
