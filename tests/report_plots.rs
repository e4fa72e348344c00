//! The report's figures, rendered and read back as pixels: every one is drawn at its size and
//! not blank, the summary comes first, legends stand beside the data and never on it, the
//! beam map has a colour bar, the polar patterns mark the front, and a figure that does not
//! apply says why in a figure of its own.

mod common;

use common::cli::{assert_success, dir, soundstage};
use image::RgbImage;
use std::path::Path;

/// Every figure a report writes, the summary first.
const FIGURES: [&str; 9] = [
    "summary.png",
    "cancellation.png",
    "ear_responses.png",
    "plant.png",
    "beam_map.png",
    "beam_polar.png",
    "virtual_cues.png",
    "mono_sum.png",
    "sweet_spot.png",
];

fn report(out: &Path, args: &[&str]) -> String {
    let mut argv = vec!["report", out.to_str().unwrap()];
    argv.extend_from_slice(args);
    let run = soundstage(&argv);
    assert_success(&run);
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn open(path: &Path) -> RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn is_white(p: &image::Rgb<u8>) -> bool {
    p.0.iter().all(|c| *c >= 250)
}

/// Text and axis lines: near black (curves, grids and maps are coloured or light).
fn is_ink(p: &image::Rgb<u8>) -> bool {
    p.0.iter().all(|c| *c < 90)
}

/// The plotting region of a chart: right of its y axis and above its x axis, found as the
/// longest vertical and horizontal runs of ink (the axis lines), less a few pixels.
fn data_region(img: &RgbImage) -> (u32, u32, u32, u32) {
    let (w, h) = img.dimensions();
    let run = |len: u32, at: &dyn Fn(u32) -> bool| {
        let (mut best, mut start_of_best, mut current, mut start) = (0, 0, 0, 0);
        for i in 0..len {
            if at(i) {
                if current == 0 {
                    start = i;
                }
                current += 1;
                if current > best {
                    (best, start_of_best) = (current, start);
                }
            } else {
                current = 0;
            }
        }
        (best, start_of_best)
    };
    let (mut axis_x, mut top, mut tallest) = (0, 0, 0);
    for x in 0..w {
        let (len, start) = run(h, &|y| is_ink(img.get_pixel(x, y)));
        if len > tallest {
            (tallest, axis_x, top) = (len, x, start);
        }
    }
    let (mut axis_y, mut right, mut widest) = (0, 0, 0);
    for y in 0..h {
        let (len, start) = run(w, &|x| is_ink(img.get_pixel(x, y)));
        if len > widest {
            (widest, axis_y, right) = (len, y, start + len);
        }
    }
    (axis_x + 4, top + 4, right - 4, axis_y - 4)
}

#[test]
fn every_figure_is_drawn_at_its_size_not_blank_and_the_summary_comes_first() {
    let d = dir();
    for (name, args) in [
        ("pair", vec!["--preset", "desktop"]),
        ("line", vec!["--preset", "soundbar"]),
        ("headphones", vec!["--preset", "headphones"]),
        ("binaural", vec!["--set", "mode=binaural"]),
    ] {
        let out = d.path().join(name);
        report(&out, &args);
        let written = |file: &str| {
            std::fs::metadata(out.join(file))
                .unwrap()
                .modified()
                .unwrap()
        };
        for file in FIGURES {
            let img = open(&out.join(file));
            assert_eq!(img.dimensions(), (1200, 700), "{name}/{file}");
            let drawn = img.pixels().filter(|p| !is_white(p)).count() as f64 / (1200.0 * 700.0);
            println!("{name}/{file}: {:.1} % drawn", 100.0 * drawn);
            assert!(drawn > 0.01, "{name}/{file} is blank");
            assert!(
                written("summary.png") <= written(file),
                "{name}: the summary is written first"
            );
        }
    }
}

#[test]
fn legends_stand_beside_the_curves_never_on_them() {
    let d = dir();
    let out = d.path().join("r");
    report(&out, &["--preset", "laptop"]);
    for file in [
        "cancellation.png",
        "ear_responses.png",
        "plant.png",
        "mono_sum.png",
        "virtual_cues.png",
    ] {
        let img = open(&out.join(file));
        let (x0, y0, x1, y1) = data_region(&img);
        let ink = (x0..x1)
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|(x, y)| is_ink(img.get_pixel(*x, *y)))
            .count();
        // The legend's text is ink: right of the data region, not inside it.
        let beside = (x1 + 8..img.width())
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|(x, y)| is_ink(img.get_pixel(*x, *y)))
            .count();
        println!("{file}: data region x {x0}..{x1}, y {y0}..{y1}: {ink} ink pixels inside, {beside} beside");
        assert!(
            x1 - x0 > 600 && y1 - y0 > 350,
            "{file}: the data region was found"
        );
        assert_eq!(ink, 0, "{file}: text or a legend box lies on the data");
        assert!(beside > 150, "{file}: the legend stands beside the data");
    }
}

#[test]
fn the_beam_map_has_a_colour_bar_and_the_polar_patterns_mark_the_front() {
    let d = dir();
    let out = d.path().join("r");
    report(&out, &["--preset", "soundbar"]);
    let map = open(&out.join("beam_map.png"));
    // A colour bar: a column right of the map whose colours darken steadily over 300 pixels
    // or more, from yellow at 0 dB to dark blue at -30 dB.
    let luminance = |p: &image::Rgb<u8>| {
        0.2126 * f64::from(p.0[0]) + 0.7152 * f64::from(p.0[1]) + 0.0722 * f64::from(p.0[2])
    };
    let bar = (map.width() * 85 / 100..map.width()).find(|&x| {
        let column: Vec<f64> = (0..map.height())
            .map(|y| map.get_pixel(x, y))
            .filter(|p| !is_white(p) && !is_ink(p))
            .map(luminance)
            .collect();
        column.len() >= 300
            && column.windows(2).all(|w| w[1] <= w[0] + 1.0)
            && column[0] - column[column.len() - 1] > 100.0
    });
    println!("colour bar at column {bar:?}");
    assert!(bar.is_some(), "beam_map.png has a colour bar");
    let polar = open(&out.join("beam_polar.png"));
    let front_markers = polar
        .pixels()
        .filter(|p| p.0[0] > 230 && (100..150).contains(&p.0[1]) && p.0[2] < 40)
        .count();
    println!("beam_polar.png: {front_markers} pixels of the front markers");
    assert!(
        front_markers > 4 * 40,
        "each of the four patterns marks the front"
    );
}

#[test]
fn a_figure_that_does_not_apply_says_why_in_a_figure_of_its_own() {
    let d = dir();
    let out = d.path().join("r");
    report(&out, &["--preset", "headphones"]);
    for file in [
        "cancellation.png",
        "beam_map.png",
        "beam_polar.png",
        "sweet_spot.png",
    ] {
        let img = open(&out.join(file));
        let panel = img.pixels().filter(|p| p.0 == [0xf2, 0xf2, 0xf2]).count();
        let ink = img.pixels().filter(|p| is_ink(p)).count();
        println!("{file}: {panel} pixels of the explanation's panel, {ink} of ink");
        assert!(panel > 100_000, "{file}: the explanation's panel is drawn");
        assert!(ink > 2_000, "{file}: with words in it");
    }
}

#[test]
fn a_marker_that_is_not_drawn_gets_no_legend_entry() {
    let d = dir();
    let red = |img: &RgbImage, from_x: u32| {
        img.enumerate_pixels()
            .filter(|(x, _, p)| *x >= from_x && p.0[0] > 180 && p.0[1] < 90 && p.0[2] < 90)
            .count()
    };
    // The laptop preset reaches its target everywhere: no dots, no entry for them.
    let free = d.path().join("free");
    report(&free, &["--preset", "laptop"]);
    let img = open(&free.join("cancellation.png"));
    assert_eq!(
        red(&img, 0),
        0,
        "no boost-limit dots and no legend entry for them"
    );
    // A smart speaker's close drivers under a 6 dB boost limit miss a 30 dB target: dots,
    // and their entry beside.
    let capped = d.path().join("capped");
    report(
        &capped,
        &[
            "--preset",
            "smart-speaker",
            "--set",
            "boost=6",
            "--set",
            "cancel=30",
        ],
    );
    let img = open(&capped.join("cancellation.png"));
    let (_, _, right, _) = data_region(&img);
    println!(
        "capped: {} red pixels, {} beside the data",
        red(&img, 0),
        red(&img, right + 8)
    );
    assert!(red(&img, right + 8) > 20, "the dots' legend entry");
}
