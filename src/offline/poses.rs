//! A listener trajectory from a file, for offline renders that follow a moving listener:
//! CSV with the header `time_s,x_m,y_m,yaw_deg` (the design's pose: x to the listener's
//! right, y the distance from the drivers, yaw with the nose to their left), one pose per
//! row, times strictly increasing. Between rows the pose is interpolated linearly; before the
//! first row it is the first, after the last the last.

use crate::params::{Float, FloatSpec};
use crate::tracking::Pose;

/// The header a pose file starts with.
pub const HEADER: [&str; 4] = ["time_s", "x_m", "y_m", "yaw_deg"];

/// Most rows a pose file may hold: an hour at 120 poses a second.
pub const MAX_POSE_ROWS: usize = 432_000;

/// Why a pose file cannot be followed; each names the row (1 is the header).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PoseFileError {
    /// No header, or another one.
    #[error("row 1: the header must be {}, found {found:?}", HEADER.join(","))]
    Header {
        /// What the first row says.
        found: String,
    },
    /// A header and nothing else.
    #[error("no poses after the header")]
    Empty,
    /// A row with more or fewer than four values.
    #[error("row {row}: {found} values, expected 4 (time_s,x_m,y_m,yaw_deg)")]
    Columns {
        /// The row.
        row: usize,
        /// How many it had.
        found: usize,
    },
    /// A value that is not a finite number.
    #[error("row {row}: {column} is {value:?}, not a finite number")]
    NotANumber {
        /// The row.
        row: usize,
        /// The column's name.
        column: &'static str,
        /// What it says.
        value: String,
    },
    /// A time not after the row before's.
    #[error("row {row}: time {time} s is not after the row before's ({before} s); sort the rows by time")]
    Unsorted {
        /// The row.
        row: usize,
        /// Its time.
        time: f64,
        /// The time before.
        before: f64,
    },
    /// A pose the parameters cannot take.
    #[error("row {row}: {column} = {value} is outside {min} to {max}")]
    OutOfRange {
        /// The row.
        row: usize,
        /// The column's name.
        column: &'static str,
        /// Its value.
        value: f64,
        /// The lowest accepted, in the column's units.
        min: f64,
        /// The highest accepted.
        max: f64,
    },
    /// More rows than [`MAX_POSE_ROWS`].
    #[error("more than {MAX_POSE_ROWS} poses; thin the trajectory")]
    TooLong,
}

/// A trajectory: poses at increasing times.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseTrack {
    rows: Vec<(f64, Pose)>,
}

/// The range a pose column may take, in its own units (metres, degrees), from the parameter
/// that holds it.
fn range(column: usize) -> (f64, f64) {
    let (spec, scale): (&FloatSpec, f64) = match column {
        1 => (Float::Offset.spec(), 0.01),
        2 => (Float::Distance.spec(), 1.0),
        _ => (Float::Yaw.spec(), 1.0),
    };
    (spec.min as f64 * scale, spec.max as f64 * scale)
}

impl PoseTrack {
    /// Parses a pose file's text.
    pub fn parse(text: &str) -> Result<Self, PoseFileError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        let header = lines.next().map_or("", |(_, l)| l);
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        if names != HEADER {
            return Err(PoseFileError::Header {
                found: header.chars().take(80).collect(),
            });
        }
        let mut rows: Vec<(f64, Pose)> = Vec::new();
        for (row, line) in lines {
            if rows.len() == MAX_POSE_ROWS {
                return Err(PoseFileError::TooLong);
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != HEADER.len() {
                return Err(PoseFileError::Columns {
                    row,
                    found: fields.len(),
                });
            }
            let mut v = [0.0; 4];
            for (column, (field, value)) in fields.iter().zip(&mut v).enumerate() {
                *value = field
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| PoseFileError::NotANumber {
                        row,
                        column: HEADER[column],
                        value: field.chars().take(40).collect(),
                    })?;
                if column > 0 {
                    let (min, max) = range(column);
                    if !(min..=max).contains(value) {
                        return Err(PoseFileError::OutOfRange {
                            row,
                            column: HEADER[column],
                            value: *value,
                            min,
                            max,
                        });
                    }
                }
            }
            if let Some(&(before, _)) = rows.last() {
                if v[0] <= before {
                    return Err(PoseFileError::Unsorted {
                        row,
                        time: v[0],
                        before,
                    });
                }
            }
            let pose = Pose {
                x_m: v[1],
                y_m: v[2],
                yaw_deg: v[3],
            };
            rows.push((v[0], pose));
        }
        if rows.is_empty() {
            return Err(PoseFileError::Empty);
        }
        Ok(Self { rows })
    }

    /// The pose at `time_s`.
    pub fn at(&self, time_s: f64) -> Pose {
        let after = self.rows.partition_point(|(t, _)| *t <= time_s);
        match (
            after.checked_sub(1).map(|i| self.rows[i]),
            self.rows.get(after),
        ) {
            (Some((t0, p0)), Some(&(t1, p1))) => {
                let w = (time_s - t0) / (t1 - t0);
                p0.plus_scaled(p1.minus(p0), w)
            }
            (Some((_, p)), None) => p,
            (None, Some(&(_, p))) => p,
            (None, None) => unreachable!("a track has a row"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_are_interpolated_between_rows_and_held_outside_them() {
        let track =
            PoseTrack::parse("time_s,x_m,y_m,yaw_deg\n1.0,0.0,1.0,0.0\n3.0,0.2,1.4,-10\n\n")
                .unwrap();
        assert_eq!(track.at(0.0).x_m, 0.0);
        let mid = track.at(2.0);
        assert!((mid.x_m - 0.1).abs() < 1e-12 && (mid.y_m - 1.2).abs() < 1e-12);
        assert!((mid.yaw_deg + 5.0).abs() < 1e-12);
        assert_eq!(track.at(9.0).yaw_deg, -10.0);
    }

    #[test]
    fn a_bad_file_is_refused_with_its_row() {
        let cases = [
            (
                "t,x,y,yaw\n0,0,1,0",
                "row 1: the header must be time_s,x_m,y_m,yaw_deg",
            ),
            ("time_s,x_m,y_m,yaw_deg\n", "no poses after the header"),
            ("time_s,x_m,y_m,yaw_deg\n0,0,1\n", "row 2: 3 values"),
            (
                "time_s,x_m,y_m,yaw_deg\n0,0,1,0\n1,NaN,1,0\n",
                "row 3: x_m is \"NaN\"",
            ),
            (
                "time_s,x_m,y_m,yaw_deg\n0,0,1,0\n0,0,1,0\n",
                "row 3: time 0 s is not after",
            ),
            (
                "time_s,x_m,y_m,yaw_deg\n0,0,1,90\n",
                "row 2: yaw_deg = 90 is outside -45 to 45",
            ),
            (
                "time_s,x_m,y_m,yaw_deg\n0,0.7,1,0\n",
                "row 2: x_m = 0.7 is outside -0.5 to 0.5",
            ),
        ];
        for (text, said) in cases {
            let error = PoseFileError::to_string(&PoseTrack::parse(text).unwrap_err());
            assert!(error.starts_with(said), "{text:?}: {error}");
        }
    }
}
