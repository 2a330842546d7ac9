//! Live capture through libpcap (cargo feature `live`).
//!
//! Minimal: opens a device, applies an optional BPF filter and hands out frames. Drop
//! statistics and the rest of live mode come later.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{CaptureError, CaptureErrorKind, Frame, FrameSource, LinkType, Timestamp};

/// Read timeout handed to libpcap: `next_frame` wakes this often to check the stop flag.
const READ_TIMEOUT_MS: i32 = 250;

/// A live libpcap capture on one network interface.
pub struct LiveSource {
    name: String,
    cap: pcap::Capture<pcap::Active>,
    link_type: LinkType,
    frames: u64,
    bytes: u64,
    stop: Arc<AtomicBool>,
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
    ) -> Result<LiveSource, CaptureError> {
        let err = |e: pcap::Error| {
            CaptureError::new(
                device,
                0,
                CaptureErrorKind::Io {
                    record: 0,
                    source: io::Error::other(e),
                },
            )
        };
        let mut cap = pcap::Capture::from_device(device)
            .map_err(err)?
            .promisc(promisc)
            .snaplen(snaplen)
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(true)
            .open()
            .map_err(err)?;
        if let Some(f) = filter {
            cap.filter(f, true).map_err(err)?;
        }
        // DLT values from libpcap equal LINKTYPE values for everything we decode.
        let link_type = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        Ok(LiveSource {
            name: device.to_owned(),
            cap,
            link_type,
            frames: 0,
            bytes: 0,
            stop: Arc::new(AtomicBool::new(false)),
            done: false,
        })
    }

    /// A flag that, once set (e.g. from a Ctrl-C handler), makes `next_frame` return
    /// `Ok(None)` within one read timeout.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
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
}
