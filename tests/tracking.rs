//! Following the listener: the separation a design keeps when it is made for where the head
//! is (position and rotation), against the fixed design for the nominal listener, on the
//! design model, a perturbed head and a measured (non-spherical) head.

mod common;

use common::sofa::{self, Extras, Head};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::worst_separation;
use soundstage::design::filters::chain::{design, Design, DesignInput};
use soundstage::design::model::geometry::Geometry;
use soundstage::design::model::measured::MeasuredHead;
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::model::sofa::read;

/// The anchor: pure cancellation, a 16 cm pair at 1 m.
fn nominal() -> Settings {
    Settings {
        mode: Mode::Binaural,
        spacing_m: 0.16,
        distance_m: 1.0,
        ..Settings::default()
    }
}

fn designed(settings: Settings, plant: &dyn Plant) -> Design {
    design(
        &DesignInput {
            settings,
            outputs: 2,
            sample_rate: 48_000.0,
        },
        plant,
    )
}

/// A listener at (x, y × nominal distance, yaw).
fn pose(x_m: f64, y_factor: f64, yaw_deg: f64) -> Geometry {
    let s = nominal();
    Geometry {
        offset_m: x_m,
        distance_m: s.distance_m * y_factor,
        yaw_deg,
        ..s.geometry(2)
    }
}

/// The design that follows: made for the listener's pose.
fn following(at: &Geometry, design_on: &dyn Plant) -> Design {
    designed(
        Settings {
            offset_m: at.offset_m,
            distance_m: at.distance_m,
            yaw_deg: at.yaw_deg,
            ..nominal()
        },
        design_on,
    )
}

/// For each head (designed on, listened through): the separation at every pose of the
/// grid, fixed and following, and the properties the issue asks for.
#[test]
fn a_design_that_follows_the_head_keeps_its_separation_where_the_fixed_one_loses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.sofa");
    sofa::write(
        &path,
        "synthetic",
        &sofa::measurements(Head::Synthetic, 2.0),
        &Extras::default(),
    );
    let measured = MeasuredHead::new(&read(&path).unwrap());
    let sphere = SphereHead::default();
    let larger = SphereHead {
        radius_m: sphere.radius_m * 1.08,
    };
    // (name, designed on, listened through)
    let heads: [(&str, &dyn Plant, &dyn Plant); 3] = [
        ("design model", &sphere, &sphere),
        ("head 8 % larger than the model", &sphere, &larger),
        ("measured head", &measured, &measured),
    ];
    let xs = [-0.20, -0.10, -0.05, 0.0, 0.05, 0.10, 0.20];
    let ys = [0.8, 1.0, 1.3];
    for (name, design_on, listener) in heads {
        let fixed = designed(nominal(), design_on);
        let at_nominal = worst_separation(&fixed, listener, &pose(0.0, 1.0, 0.0), 1.0).mean_db;
        println!("{name}: {at_nominal:.1} dB at the nominal pose");
        println!("  x cm   y×    fixed  following (dB)");
        for &y in &ys {
            for &x in &xs {
                let at = pose(x, y, 0.0);
                let still = worst_separation(&fixed, listener, &at, 1.0).mean_db;
                let follows =
                    worst_separation(&following(&at, design_on), listener, &at, 1.0).mean_db;
                println!("  {:+4.0}  {y:.1}  {still:6.1}  {follows:6.1}", x * 100.0);
                assert!(
                    follows > at_nominal - 1.5,
                    "{name} at x {x} m, y {y}×: following gives {follows:.1} dB, the nominal pose {at_nominal:.1} dB"
                );
            }
        }
        for yaw in [-15.0, -7.5, 7.5, 15.0] {
            let at = pose(0.0, 1.0, yaw);
            let still = worst_separation(&fixed, listener, &at, 1.0).mean_db;
            let follows = worst_separation(&following(&at, design_on), listener, &at, 1.0).mean_db;
            println!("  yaw {yaw:+5.1}°    {still:6.1}  {follows:6.1}");
            assert!(
                follows >= 12.0,
                "{name} turned {yaw}°: following gives {follows:.1} dB"
            );
        }
        // The point of following: 10 cm off, the fixed design has lost most of its separation.
        let off = pose(0.10, 1.0, 0.0);
        let still = worst_separation(&fixed, listener, &off, 1.0).mean_db;
        let follows = worst_separation(&following(&off, design_on), listener, &off, 1.0).mean_db;
        assert!(
            follows > still + 6.0,
            "{name}, 10 cm off: following {follows:.1} dB against fixed {still:.1} dB"
        );
    }
}

/// The head's turn is in the model, not just its position: a design for a head turned 15°
/// heard by a head facing the drivers (and the other way round) is worse than the matched
/// one.
#[test]
fn a_turned_head_needs_its_own_design() {
    let sphere = SphereHead::default();
    let turned = pose(0.0, 1.0, 15.0);
    let ahead = pose(0.0, 1.0, 0.0);
    let for_turned = following(&turned, &sphere);
    let for_ahead = following(&ahead, &sphere);
    let matched = worst_separation(&for_turned, &sphere, &turned, 1.0).mean_db;
    let mismatched = worst_separation(&for_ahead, &sphere, &turned, 1.0).mean_db;
    assert!(
        matched > mismatched + 3.0,
        "turned 15°: its own design {matched:.1} dB, the facing design {mismatched:.1} dB"
    );
}

/// A port nobody listens on now (the system's choice, freed again).
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// CPU seconds the thread named `name` has used (Linux: utime + stime of its task).
fn thread_cpu_s(name: &str) -> f64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap();
            // The fields after the parenthesised name; utime and stime are the 12th and 13th.
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            let fields: Vec<&str> = after.split(' ').collect();
            let ticks: f64 =
                fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
            return ticks / 100.0;
        }
    }
    panic!("no thread named {name}");
}

/// The listener on a real UDP port: good packets of each protocol become poses, every kind
/// of bad packet is dropped and counted, and a flood costs its thread a bounded share of a
/// core while the newest good pose still gets through.
#[test]
fn the_listener_takes_poses_drops_what_is_not_one_and_survives_a_flood() {
    use rosc::{encoder, OscMessage, OscPacket, OscType};
    use soundstage::tracking::listener::{
        pose_channel, Listener, PoseSink, TrackerStatus, TrackingSettings,
    };
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let port = free_port();
    let (poses, received) = pose_channel();
    let woken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = woken.clone();
    let wake: soundstage::tracking::listener::Wake =
        Arc::new(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    let status = Arc::new(TrackerStatus::default());
    let settings = TrackingSettings {
        enabled: true,
        port,
        all_interfaces: false,
        invert_yaw: false,
    };
    let listener = Listener::start(settings, PoseSink { poses, wake }, status.clone()).unwrap();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(("127.0.0.1", port)).unwrap();
    let osc = |addr: &str, args: Vec<f32>| {
        encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args: args.into_iter().map(OscType::Float).collect(),
        }))
        .unwrap()
    };
    let opentrack = |v: [f64; 6]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let good = [
        opentrack([-5.0, 0.0, 0.0, -10.0, 0.0, 0.0]),
        osc("/ypr", vec![10.0, 3.0, 1.0]),
        osc("/xyz", vec![0.0, -0.05, 0.0]),
        osc("/soundstage/pose", vec![0.05, 1.0, 10.0]),
    ];
    let bad = [
        opentrack([f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]),
        opentrack([1e9, 0.0, 0.0, 0.0, 0.0, 0.0])[..40].to_vec(),
        osc("/ypr", vec![f32::INFINITY, 0.0, 0.0]),
        osc("/volume", vec![1.0]),
        vec![0xff; 1500],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ];
    for round in 0..10 {
        for p in good.iter().chain(&bad) {
            sender.send(p).unwrap();
        }
        std::thread::sleep(Duration::from_millis(if round == 0 { 50 } else { 5 }));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while status.snapshot().packets + status.snapshot().dropped < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = status.snapshot();
    assert_eq!((seen.packets, seen.dropped), (40, 60), "{seen:?}");
    assert!(
        woken.load(std::sync::atomic::Ordering::Relaxed),
        "the designer was woken"
    );
    let newest = received
        .try_iter()
        .last()
        .expect("poses reached the designer");
    // The last good reading was our own place: 5 cm right, 1 m away, turned 10° left.
    assert!(newest.absolute, "{newest:?}");
    // A flood: a second of datagrams as fast as one thread can send them.
    let cpu_before = thread_cpu_s("soundstage-trac");
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        let _ = sender.send(&bad[sent as usize % bad.len()]);
        let _ = sender.send(&good[0]);
        sent += 2;
    }
    let flood_s = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_s("soundstage-trac") - cpu_before;
    // Then one new pose: it must arrive, the flood's backlog notwithstanding.
    std::thread::sleep(Duration::from_millis(100));
    received.try_iter().for_each(drop);
    sender
        .send(&osc("/soundstage/pose", vec![-0.1, 1.2, -5.0]))
        .unwrap();
    let wanted = Instant::now();
    let arrived = loop {
        if let Some(t) = received
            .try_iter()
            .last()
            .filter(|t| (t.pose.x_m + 0.1).abs() < 0.05)
        {
            break Some((t, wanted.elapsed()));
        }
        if wanted.elapsed() > Duration::from_secs(5) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    println!(
        "flood: {sent} datagrams in {flood_s:.2} s ({:.0}/s); the listener used {:.0} % of a core; \
         status after: {:?}; the next pose arrived after {:?}",
        sent as f64 / flood_s,
        100.0 * cpu / flood_s,
        status.snapshot(),
        arrived.map(|a| a.1)
    );
    assert!(sent > 50_000, "the flood was only {sent} datagrams");
    assert!(
        cpu / flood_s < 0.25,
        "the listener used {:.0} % of a core",
        100.0 * cpu / flood_s
    );
    assert!(arrived.is_some(), "the pose after the flood never arrived");
    drop(listener);
    assert!(!status.snapshot().listening);
    // The port is free again.
    std::net::UdpSocket::bind(("127.0.0.1", port)).expect("the port was freed");
}

/// "Invert yaw" turns a tracker's yaw round (a tracker set up for the IEM SceneRotator) and
/// leaves our own `/soundstage/pose` as it is.
#[test]
fn inverting_yaw_turns_a_trackers_yaw_and_not_our_own_pose() {
    use rosc::{encoder, OscMessage, OscPacket, OscType};
    use soundstage::tracking::listener::{
        pose_channel, Listener, PoseSink, TrackerStatus, TrackingSettings,
    };
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let osc = |addr: &str, args: [f32; 3]| {
        encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args: args.into_iter().map(OscType::Float).collect(),
        }))
        .unwrap()
    };
    let yaw_followed = |invert_yaw: bool, packet: &[u8]| {
        let port = free_port();
        let (poses, received) = pose_channel();
        let settings = TrackingSettings {
            enabled: true,
            port,
            all_interfaces: false,
            invert_yaw,
        };
        let sink = PoseSink {
            poses,
            wake: Arc::new(|| {}),
        };
        let _listener =
            Listener::start(settings, sink, Arc::new(TrackerStatus::default())).unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            sender.send_to(packet, ("127.0.0.1", port)).unwrap();
            if let Ok(tracked) = received.recv_timeout(Duration::from_millis(20)) {
                break tracked.pose.yaw_deg;
            }
            assert!(Instant::now() < deadline, "no pose came");
        }
    };
    let ypr = osc("/ypr", [12.0, 0.0, 0.0]);
    let (plain, inverted) = (yaw_followed(false, &ypr), yaw_followed(true, &ypr));
    assert!(
        plain > 5.0 && inverted < -5.0,
        "/ypr 12°: {plain:.1}° plain, {inverted:.1}° inverted"
    );
    let own = osc("/soundstage/pose", [0.0, 1.0, 12.0]);
    let (plain, inverted) = (yaw_followed(false, &own), yaw_followed(true, &own));
    assert!(
        plain > 5.0 && inverted > 5.0,
        "/soundstage/pose 12°: {plain:.1}° plain, {inverted:.1}° inverted"
    );
}
