//! `soundstage render IN... --out-dir DIR`: many files on several threads, each written as
//! a single render writes it, a failing file named while the others finish, and every
//! output checked before any work.

mod common;

use common::cli::{assert_error, assert_success, dir, soundstage, stereo_wav, write_wav};
use common::noise;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_batch_writes_each_file_as_a_single_render_does_and_a_bad_file_fails_alone() {
    let d = dir();
    let first = stereo_wav(d.path(), "first.wav", 16);
    let second = d.path().join("second.wav");
    write_wav(
        &second,
        2,
        32,
        true,
        &[noise(5, 30_000, 0.3), noise(6, 30_000, 0.1)],
    );
    let broken = d.path().join("broken.wav");
    std::fs::write(&broken, b"not a wav file at all").unwrap();
    let alone = d.path().join("alone");
    std::fs::create_dir(&alone).unwrap();
    for input in [&first, &second] {
        let name = input.file_name().unwrap();
        assert_success(&soundstage(&[
            "render",
            input.to_str().unwrap(),
            alone.join(name).to_str().unwrap(),
            "--preset",
            "soundbar",
        ]));
    }
    for jobs in ["1", "3"] {
        let out_dir = d.path().join(format!("batch{jobs}"));
        let out = soundstage(&[
            "render",
            first.to_str().unwrap(),
            broken.to_str().unwrap(),
            second.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
            "--jobs",
            jobs,
            "--preset",
            "soundbar",
        ]);
        let said = stderr(&out);
        assert!(!out.status.success(), "a failed file fails the batch");
        assert!(
            said.contains("broken.wav is not a readable WAV, AIFF or FLAC file"),
            "{said}"
        );
        assert!(
            said.contains("1 of 3 files failed (each is named above); the others were written"),
            "{said}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.matches(" -> ").count(),
            2,
            "a summary per file: {stdout}"
        );
        assert!(!out_dir.join("broken.wav").exists());
        for name in ["first.wav", "second.wav"] {
            let batch = std::fs::read(out_dir.join(name)).unwrap();
            let single = std::fs::read(alone.join(name)).unwrap();
            assert!(
                batch == single,
                "--jobs {jobs}: {name} differs from its single render"
            );
        }
    }
}

#[test]
fn a_batch_is_refused_before_any_work_where_two_inputs_would_share_an_output() {
    let d = dir();
    let a = stereo_wav(d.path(), "mix.wav", 16);
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let b = stereo_wav(&sub, "mix.wav", 24);
    let out_dir = d.path().join("out");
    let out = soundstage(&[
        "render",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert_error(&out, "would both be written to");
    assert!(stderr(&out).contains("sub/mix.wav"), "{}", stderr(&out));
    assert!(!out_dir.exists(), "nothing is made before the refusal");
    // Without --out-dir, render takes exactly an input and an output.
    assert_error(
        &soundstage(&["render", a.to_str().unwrap(), b.to_str().unwrap(), "x.wav"]),
        "render takes IN OUT (2 paths) and 3 were given; to render several files, add --out-dir DIR",
    );
    // The input rendered into its own directory would be replaced: refused.
    assert_error(
        &soundstage(&[
            "render",
            a.to_str().unwrap(),
            "--out-dir",
            d.path().to_str().unwrap(),
        ]),
        "it is the input file",
    );
}
