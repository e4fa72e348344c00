//! Acoustic models of the listener: the geometry of drivers and head, the plant interface
//! (what each ear receives from each driver) with its sphere and measured-head
//! implementations, the SOFA reader, and the head choice a session stores.

pub mod geometry;
pub mod head;
pub mod measured;
pub mod plant;
pub mod sofa;
