//! Acoustic models of the listener: the geometry of drivers and head, the plant interface
//! (what each ear receives from each driver) with its sphere, measured-head and
//! measured-device implementations, the SOFA readers, the head choice a session stores (with
//! a measured head's or device's data), and the listening zone a design covers.

pub mod device;
pub mod geometry;
pub mod head;
pub mod measured;
pub mod plant;
pub mod sofa;
pub mod sofa_device;
pub mod stored_device;
pub mod zone;
