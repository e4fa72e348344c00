//! Why a design could not be made: typed, so that callers can tell the reasons apart, and
//! worded for the user, so that the plugin, the editor and the CLI show the same sentence.

use crate::design::model::device::DeviceMismatch;
use crate::design::model::measured::CoverageError;

/// Why the designer made no filters (the last good filters keep playing).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// The measured head does not cover a direction the drivers need.
    #[error(transparent)]
    Coverage(#[from] CoverageError),
    /// The measured device does not match the layout or pose asked for.
    #[error(transparent)]
    Device(#[from] DeviceMismatch),
    /// The measured head stored in the session cannot be read back.
    #[error("the stored measured head is damaged ({0})")]
    DamagedHead(#[from] HeadDamage),
    /// The design gave coefficients that are not finite numbers.
    #[error("the design gave values that are not finite numbers")]
    NotFinite,
    /// The design code panicked (a bug); the message says where.
    #[error("the design failed unexpectedly ({0})")]
    Panicked(String),
}

/// What is wrong with a stored measured head.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HeadDamage {
    /// The responses are not valid base64.
    #[error("{0}")]
    Encoding(String),
    /// The declared counts do not match the data.
    #[error("its sizes do not match")]
    Sizes,
    /// A response, the sample rate or the radius is not a usable number.
    #[error("invalid values")]
    Values,
}
