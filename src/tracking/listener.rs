//! The tracker listener: a thread owned by the plugin instance (only while tracking is on)
//! that reads head-tracker datagrams from a UDP port, follows them (see [`super::follower`])
//! and hands each new pose to the designer through a lock-free channel, waking it. It never
//! touches the audio thread's state; what the editor shows of it is a few atomics.

use super::follower::Follower;
use super::protocol::{self, Protocol, Reading};
use super::Tracked;
use crate::limits::{MAX_TRACKER_DATAGRAM_BYTES, TRACKER_PORTS};
use atomic_float::AtomicF32;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The port trackers are listened for on unless the user chooses another (SPARTA's and
/// many OSC head trackers' default).
pub const DEFAULT_PORT: u16 = 9000;

/// How often the thread looks at its clock without a datagram (glides, stop requests).
const TICK: Duration = Duration::from_millis(10);

/// Most datagrams read per tick (10,000 per second, 80 times what the fastest tracker
/// sends): under a flood the rest wait in the system's socket buffer, which drops what it
/// cannot hold, so a flood costs this thread a bounded share of a core.
const MAX_DATAGRAMS_PER_TICK: usize = 100;

/// Poses that may wait for the designer; the designer follows only the newest.
const POSE_QUEUE: usize = 64;

/// The tracker's settings: stored with the session, not automatable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrackingSettings {
    /// Whether the plugin listens for a tracker at all.
    pub enabled: bool,
    /// The UDP port listened on.
    pub port: u16,
    /// Whether to listen on every network interface instead of this machine only (a tracker
    /// on a phone or another computer).
    pub all_interfaces: bool,
    /// Whether a tracker's yaw turns the other way round: trackers set up for a scene
    /// rotator that turns the scene against the head (the IEM SceneRotator) send yaw with the
    /// opposite sign of SPARTA's and ours. Our own `/soundstage/pose` is never inverted.
    #[serde(default)]
    pub invert_yaw: bool,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            port: DEFAULT_PORT,
            all_interfaces: false,
            invert_yaw: false,
        }
    }
}

impl TrackingSettings {
    /// The settings with anything out of range (a hand-edited or hostile state) replaced by
    /// the default.
    pub fn checked(self) -> Self {
        Self {
            port: if TRACKER_PORTS.contains(&self.port) {
                self.port
            } else {
                DEFAULT_PORT
            },
            ..self
        }
    }

    /// The address to bind.
    pub fn address(&self) -> SocketAddr {
        let ip = if self.all_interfaces {
            Ipv4Addr::UNSPECIFIED
        } else {
            Ipv4Addr::LOCALHOST
        };
        SocketAddr::from((ip, self.port))
    }
}

/// What the listener has seen, for the editor: written by the listener thread, read by
/// anyone, all atomics (the bind error aside, which only the GUI and activation read).
#[derive(Debug)]
pub struct TrackerStatus {
    epoch: Instant,
    listening: AtomicBool,
    packets: AtomicU64,
    dropped: AtomicU64,
    protocol: AtomicU8,
    last_packet_us: AtomicU64,
    rate: AtomicF32,
    pose: [AtomicF32; 3],
    error: Mutex<Option<String>>,
}

impl Default for TrackerStatus {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            listening: AtomicBool::new(false),
            packets: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            protocol: AtomicU8::new(0),
            last_packet_us: AtomicU64::new(0),
            rate: AtomicF32::new(0.0),
            pose: Default::default(),
            error: Mutex::new(None),
        }
    }
}

/// A copy of the status at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusSnapshot {
    /// Whether a listener thread has its port.
    pub listening: bool,
    /// Datagrams read as poses.
    pub packets: u64,
    /// Datagrams dropped (malformed, truncated, not finite, out of range, not a pose).
    pub dropped: u64,
    /// The protocol of the last good datagram.
    pub protocol: Option<Protocol>,
    /// Seconds since the last good datagram.
    pub age_s: Option<f64>,
    /// Good datagrams per second over the last second.
    pub rate_per_s: f32,
    /// The last pose followed (x m, y m, yaw °; y is a displacement unless the tracker sends
    /// places).
    pub pose: [f32; 3],
    /// Why the port could not be listened on, if it could not.
    pub error: Option<String>,
}

impl TrackerStatus {
    /// The status now.
    pub fn snapshot(&self) -> StatusSnapshot {
        let last = self.last_packet_us.load(Ordering::Relaxed);
        let now = self.epoch.elapsed().as_micros() as u64;
        StatusSnapshot {
            listening: self.listening.load(Ordering::Relaxed),
            packets: self.packets.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            protocol: Protocol::from_code(self.protocol.load(Ordering::Relaxed)),
            age_s: (last > 0).then(|| now.saturating_sub(last) as f64 * 1e-6),
            rate_per_s: self.rate.load(Ordering::Relaxed),
            pose: self.pose.each_ref().map(|p| p.load(Ordering::Relaxed)),
            error: self.error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }
}

/// Wakes whoever follows the poses (the designer); must not block.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Where the listener's poses go: the designer's pose queue and its wake-up.
#[derive(Clone)]
pub struct PoseSink {
    /// The poses, newest last.
    pub poses: Sender<Tracked>,
    /// Called after each pose.
    pub wake: Wake,
}

/// The designer's end of a [`PoseSink`].
pub fn pose_channel() -> (Sender<Tracked>, Receiver<Tracked>) {
    crossbeam_channel::bounded(POSE_QUEUE)
}

/// A running listener thread; dropping it stops and joins the thread and frees the port.
pub struct Listener {
    stop: Arc<AtomicBool>,
    centre: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `settings`' port and starts listening; fails (with the system's reason) when
    /// the port cannot be had, e.g. another program holds it. The reason also goes to
    /// `status`, for the editor.
    pub fn start(
        settings: TrackingSettings,
        sink: PoseSink,
        status: Arc<TrackerStatus>,
    ) -> std::io::Result<Self> {
        let settings = settings.checked();
        let bound = UdpSocket::bind(settings.address()).and_then(|socket| {
            socket.set_read_timeout(Some(TICK))?;
            Ok(socket)
        });
        let socket = match bound {
            Ok(socket) => socket,
            Err(e) => {
                status.set_error(Some(format!(
                    "cannot listen on {}: {e}",
                    settings.address()
                )));
                return Err(e);
            }
        };
        status.set_error(None);
        let stop = Arc::new(AtomicBool::new(false));
        let centre = Arc::new(AtomicBool::new(false));
        let (stop_flag, centre_flag) = (stop.clone(), centre.clone());
        let thread = std::thread::Builder::new()
            .name("soundstage-tracker".into())
            .spawn(move || {
                status.listening.store(true, Ordering::Relaxed);
                Run {
                    socket,
                    sink,
                    status: status.clone(),
                    follower: Follower::default(),
                    pending: None,
                    invert_yaw: settings.invert_yaw,
                }
                .run(&stop_flag, &centre_flag);
                status.listening.store(false, Ordering::Relaxed);
            })?;
        Ok(Self {
            stop,
            centre,
            thread: Some(thread),
        })
    }

    /// Makes the tracker's current reading the nominal listener (see [`Reading::Centre`]).
    pub fn centre(&self) {
        self.centre.store(true, Ordering::Release);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The listener thread's state.
struct Run {
    socket: UdpSocket,
    sink: PoseSink,
    status: Arc<TrackerStatus>,
    follower: Follower,
    /// A pose the full queue refused, offered again until taken (it is the newest).
    pending: Option<Tracked>,
    /// See [`TrackingSettings::invert_yaw`].
    invert_yaw: bool,
}

impl Run {
    fn run(&mut self, stop: &AtomicBool, centre: &AtomicBool) {
        let mut buffer = [0u8; MAX_TRACKER_DATAGRAM_BYTES + 1];
        let mut second = (Instant::now(), 0u64);
        while !stop.load(Ordering::Acquire) {
            if centre.swap(false, Ordering::AcqRel) {
                self.take(Reading::Centre);
            }
            let tick = Instant::now();
            let mut read = 0;
            while read < MAX_DATAGRAMS_PER_TICK {
                match self.socket.recv(&mut buffer) {
                    Ok(length) => {
                        read += 1;
                        if self.datagram(&buffer[..length]) {
                            second.1 += 1;
                        }
                    }
                    // The tick passed without a datagram, or the system says something of an
                    // earlier send (ICMP): look at the clock.
                    Err(_) => break,
                }
                if stop.load(Ordering::Acquire) {
                    return;
                }
            }
            if read == MAX_DATAGRAMS_PER_TICK {
                // A flood: the rest of this tick is the system's to drop datagrams in.
                std::thread::sleep(TICK.saturating_sub(tick.elapsed()));
            }
            let now = self.now();
            let ticked = self.follower.tick(now);
            self.hand_on(ticked);
            if second.0.elapsed() >= Duration::from_secs(1) {
                let rate = second.1 as f64 / second.0.elapsed().as_secs_f64();
                self.status.rate.store(rate as f32, Ordering::Relaxed);
                second = (Instant::now(), 0);
            }
        }
    }

    /// Reads one datagram; whether it was a good one.
    fn datagram(&mut self, bytes: &[u8]) -> bool {
        let parsed = if bytes.len() > MAX_TRACKER_DATAGRAM_BYTES {
            None
        } else {
            protocol::parse(bytes)
        };
        let Some((protocol, readings)) = parsed else {
            self.status.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let s = &self.status;
        s.packets.fetch_add(1, Ordering::Relaxed);
        s.protocol.store(protocol.code(), Ordering::Relaxed);
        s.last_packet_us.store(
            s.epoch.elapsed().as_micros().max(1) as u64,
            Ordering::Relaxed,
        );
        for reading in readings {
            self.take(reading);
        }
        true
    }

    fn take(&mut self, reading: Reading) {
        let reading = if self.invert_yaw {
            reading.yaw_inverted()
        } else {
            reading
        };
        let now = self.now();
        let followed = self.follower.reading(reading, now);
        self.hand_on(followed);
    }

    fn now(&self) -> f64 {
        self.status.epoch.elapsed().as_secs_f64()
    }

    /// Hands the newest pose to the designer (or keeps it to offer again) and wakes it.
    fn hand_on(&mut self, followed: Option<Tracked>) {
        let Some(tracked) = followed.or(self.pending.take()) else {
            return;
        };
        let p = tracked.pose;
        for (slot, v) in self.status.pose.iter().zip([p.x_m, p.y_m, p.yaw_deg]) {
            slot.store(v as f32, Ordering::Relaxed);
        }
        match self.sink.poses.try_send(tracked) {
            Ok(()) => {}
            Err(TrySendError::Full(tracked)) => self.pending = Some(tracked),
            // The designer has stopped: nobody to follow for.
            Err(TrySendError::Disconnected(_)) => {}
        }
        (self.sink.wake)();
    }
}

/// The instance's tracker: what it has seen, where its poses go, and the listener thread
/// while tracking is on. Started and stopped from activation and the editor (never the audio
/// thread, so its lock is only ever theirs).
pub struct Tracker {
    status: Arc<TrackerStatus>,
    sink: PoseSink,
    poses: Receiver<Tracked>,
    on: AtomicBool,
    running: Mutex<Option<(TrackingSettings, Listener)>>,
    /// The pose the design last followed, so that a designer started by a new activation
    /// follows it too (a still head sends nothing new).
    followed: Mutex<Option<Tracked>>,
}

impl Tracker {
    /// A tracker that is off; `wake` is called after each pose (it must not block).
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        let (poses, receiver) = pose_channel();
        Self {
            status: Arc::default(),
            sink: PoseSink {
                poses,
                wake: Arc::new(wake),
            },
            poses: receiver,
            on: AtomicBool::new(false),
            running: Mutex::new(None),
            followed: Mutex::new(None),
        }
    }

    /// The newest pose to follow: the newest that arrived, else the one last followed
    /// (`None` while the tracker is off). Designer threads only.
    pub fn newest(&self) -> Option<Tracked> {
        let mut followed = self.followed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(newest) = self.poses.try_iter().last() {
            *followed = Some(newest);
        }
        if !self.is_on() {
            *followed = None;
        }
        *followed
    }

    /// Listens as `settings` say: starts, stops or moves to another port (a port that cannot
    /// be had leaves tracking off, with the reason in the status).
    pub fn apply(&self, settings: TrackingSettings) {
        let settings = settings.checked();
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.as_ref().map(|(s, _)| *s) == Some(settings).filter(|s| s.enabled) {
            return;
        }
        // The old port is freed before the new one is bound (it may be the same port).
        *running = None;
        self.on.store(false, Ordering::Release);
        if settings.enabled {
            if let Ok(listener) = Listener::start(settings, self.sink.clone(), self.status.clone())
            {
                *running = Some((settings, listener));
                self.on.store(true, Ordering::Release);
            }
        } else {
            self.status.set_error(None);
        }
        // Whatever the design followed may have changed.
        (self.sink.wake)();
    }

    /// Stops listening (deactivation).
    pub fn stop(&self) {
        self.apply(TrackingSettings {
            enabled: false,
            ..TrackingSettings::default()
        });
    }

    /// Whether a listener is running: while not, the design follows the parameters alone.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Makes the tracker's current reading the nominal listener.
    pub fn centre(&self) {
        if let Some((_, listener)) = &*self.running.lock().unwrap_or_else(|e| e.into_inner()) {
            listener.centre();
        }
    }

    /// What the tracker has seen.
    pub fn status(&self) -> StatusSnapshot {
        self.status.snapshot()
    }
}
