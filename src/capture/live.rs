//! Live capture through libpcap (cargo feature `live`).
//!
//! A [`LiveSource`] owns one activated libpcap handle. It is `Send`, so each interface can
//! be read on its own thread (see `crate::live`); it reports libpcap's own counters
//! (`pcap_stats`: received, dropped by the kernel, dropped by the interface) through
//! [`FrameSource::counters`].

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{
    CaptureError, CaptureErrorKind, Frame, FrameSource, LinkType, SourceCounters, Timestamp,
};

/// Read timeout handed to libpcap: `next_frame` wakes this often to check the stop flag.
const READ_TIMEOUT_MS: i32 = 100;

/// Kernel capture buffer when `--buffer` is not given, in MiB: libpcap's 2 MiB holds
/// about 20 ms of a busy 1 Gb/s mirror port; 32 MiB rides out bursts and pauses of the
/// engine (measured in `benches/soak.sh`).
pub const DEFAULT_BUFFER_MB: u32 = 32;

/// Largest kernel buffer accepted for `--buffer` (MiB); libpcap takes an `int` of bytes.
pub const MAX_BUFFER_MB: u32 = 2047;

/// How to open an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// BPF filter in tcpdump syntax (`udp port 5060`), compiled by libpcap.
    pub filter: Option<String>,
    /// Bytes captured per packet (65535 keeps whole SIP messages).
    pub snaplen: i32,
    /// Promiscuous mode (see traffic not addressed to this host, e.g. on a mirror port).
    pub promisc: bool,
    /// Kernel capture buffer in MiB (None: [`DEFAULT_BUFFER_MB`]). A larger buffer
    /// absorbs bursts while the engine catches up; see [`MAX_BUFFER_MB`].
    pub buffer_mb: Option<u32>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            filter: None,
            snaplen: 65535,
            promisc: false,
            buffer_mb: None,
        }
    }
}

/// Why an interface could not be opened: one line naming the interface.
#[derive(Debug, thiserror::Error)]
#[error("{interface}: {kind}")]
pub struct LiveError {
    /// The interface as given (`-i`).
    pub interface: String,
    /// What went wrong.
    pub kind: LiveErrorKind,
}

/// What went wrong opening an interface (libpcap's own text is kept in `detail`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveErrorKind {
    /// The interface does not exist.
    #[error("no such interface ({detail}); `siplens --list-interfaces` lists them")]
    NoSuchDevice {
        /// libpcap's message.
        detail: String,
    },
    /// The process may not capture (needs CAP_NET_RAW, CAP_NET_ADMIN for some options).
    #[error(
        "permission denied ({detail}): run as root, or give the binary capture rights with \
         `sudo setcap cap_net_raw,cap_net_admin=eip /path/to/siplens`"
    )]
    PermissionDenied {
        /// libpcap's message.
        detail: String,
    },
    /// libpcap could not compile the BPF filter.
    #[error("bad capture filter {filter:?}: {detail}")]
    BadFilter {
        /// The filter as given (`-f`).
        filter: String,
        /// libpcap's message.
        detail: String,
    },
    /// Any other libpcap failure.
    #[error("cannot open: {detail}")]
    Open {
        /// libpcap's message.
        detail: String,
    },
}

impl LiveErrorKind {
    /// Sorts a libpcap open/activate error by its text: the pcap crate flattens libpcap's
    /// status codes (PCAP_ERROR_NO_SUCH_DEVICE, PCAP_ERROR_PERM_DENIED) into a message.
    fn classify(e: &pcap::Error) -> LiveErrorKind {
        let detail = match e {
            pcap::Error::PcapError(s) => s.clone(),
            other => other.to_string(),
        };
        let lower = detail.to_ascii_lowercase();
        if lower.contains("no such device") || lower.contains("doesn't exist") {
            LiveErrorKind::NoSuchDevice { detail }
        } else if lower.contains("permission") || lower.contains("not permitted") {
            LiveErrorKind::PermissionDenied { detail }
        } else {
            LiveErrorKind::Open { detail }
        }
    }
}

/// A live libpcap capture on one network interface.
pub struct LiveSource {
    name: String,
    cap: pcap::Capture<pcap::Active>,
    link_type: LinkType,
    frames: u64,
    bytes: u64,
    stop: Arc<AtomicBool>,
    /// Wakes a `next_packet` blocked in poll(2): on Linux (TPACKET_V3) a quiet link
    /// never returns from it, whatever the read timeout.
    breaker: Arc<pcap::BreakLoop>,
    done: bool,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("name", &self.name)
            .field("link_type", &self.link_type)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl LiveSource {
    /// Opens `device` (e.g. `eth0`, `any`) with an optional BPF `filter`, capturing at most
    /// `snaplen` bytes per packet, in promiscuous mode if `promisc`.
    pub fn open(
        device: &str,
        filter: Option<&str>,
        snaplen: i32,
        promisc: bool,
    ) -> Result<LiveSource, LiveError> {
        LiveSource::open_with(
            device,
            &LiveOptions {
                filter: filter.map(str::to_owned),
                snaplen,
                promisc,
                buffer_mb: None,
            },
        )
    }

    /// Opens `device` with every option of [`LiveOptions`].
    pub fn open_with(device: &str, opts: &LiveOptions) -> Result<LiveSource, LiveError> {
        let err = |kind| LiveError {
            interface: device.to_owned(),
            kind,
        };
        let mut inactive = pcap::Capture::from_device(device)
            .map_err(|e| err(LiveErrorKind::classify(&e)))?
            .promisc(opts.promisc)
            .snaplen(opts.snaplen.max(64))
            .timeout(READ_TIMEOUT_MS)
            // Not immediate: the kernel hands packets over in blocks (TPACKET_V3) instead
            // of waking the thread per packet, which at ~100k packets/s decides whether
            // the ring overflows. Latency stays under the read timeout.
            .immediate_mode(false);
        let mb = opts.buffer_mb.unwrap_or(DEFAULT_BUFFER_MB);
        let bytes = i32::try_from(mb.clamp(1, MAX_BUFFER_MB) << 20).unwrap_or(i32::MAX);
        inactive = inactive.buffer_size(bytes);
        let mut cap = inactive
            .open()
            .map_err(|e| err(LiveErrorKind::classify(&e)))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| {
                err(LiveErrorKind::BadFilter {
                    filter: f.clone(),
                    detail: match e {
                        pcap::Error::PcapError(s) => s,
                        other => other.to_string(),
                    },
                })
            })?;
        }
        // DLT values from libpcap equal LINKTYPE values for everything we decode.
        let link_type = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        let breaker = Arc::new(cap.breakloop_handle());
        Ok(LiveSource {
            breaker,
            name: device.to_owned(),
            cap,
            link_type,
            frames: 0,
            bytes: 0,
            stop: Arc::new(AtomicBool::new(false)),
            done: false,
        })
    }

    /// A flag that, once set, makes `next_frame` return `Ok(None)` at its next packet or
    /// read timeout. A quiet Linux link may never time out: use [`Self::stopper`] from
    /// another thread.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Stops the capture from another thread: sets the stop flag and wakes a `next_frame`
    /// blocked in libpcap (`pcap_breakloop`), which then returns `Ok(None)`.
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let stop = Arc::clone(&self.stop);
        let breaker = Arc::clone(&self.breaker);
        move || {
            stop.store(true, Ordering::Relaxed);
            breaker.breakloop();
        }
    }
}

impl FrameSource for LiveSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            if self.done || self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.frames += 1;
                    self.bytes += u64::from(p.header.caplen);
                    let secs = u64::try_from(p.header.ts.tv_sec).unwrap_or(0);
                    let usecs = u64::try_from(p.header.ts.tv_usec).unwrap_or(0);
                    return Ok(Some(Frame {
                        number: self.frames,
                        ts: Timestamp(
                            secs.saturating_mul(1_000_000_000)
                                .saturating_add(usecs.saturating_mul(1000)),
                        ),
                        link_type: self.link_type,
                        data: p.data.to_vec(),
                        orig_len: p.header.len,
                        interface: 0,
                    }));
                }
                // The timeout only lets us look at the stop flag; a quiet link is not an end.
                Err(pcap::Error::TimeoutExpired) => continue,
                // PCAP_ERROR_BREAK (pcap_breakloop) arrives as NoMorePackets.
                Err(pcap::Error::NoMorePackets) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(CaptureError::new(
                        self.name.clone(),
                        self.bytes,
                        CaptureErrorKind::Io {
                            record: self.frames + 1,
                            source: io::Error::other(e),
                        },
                    ));
                }
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.bytes, None)
    }

    fn link_types(&self) -> Vec<LinkType> {
        vec![self.link_type]
    }

    fn counters(&mut self) -> Option<SourceCounters> {
        // libpcap's counters are 32-bit and wrap on long runs; they are reported as read.
        self.cap.stats().ok().map(|s| SourceCounters {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }
}

/// One interface as `siplens --list-interfaces` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Name to pass to `-i`.
    pub name: String,
    /// libpcap's description, when it has one.
    pub description: Option<String>,
    /// Addresses bound to it.
    pub addresses: Vec<IpAddr>,
    /// Administratively up.
    pub up: bool,
    /// Loopback interface.
    pub loopback: bool,
    /// Running (link up).
    pub running: bool,
}

/// The interfaces libpcap can capture on (`pcap_findalldevs`).
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError {
        interface: "*".to_owned(),
        kind: LiveErrorKind::classify(&e),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| InterfaceInfo {
            up: d.flags.is_up(),
            loopback: d.flags.is_loopback(),
            running: d.flags.is_running(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}
