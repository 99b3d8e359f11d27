//! Memory of this process as the kernel counts it (`/proc/self/status`).

use std::io;

/// Resident set figures, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident so far.
    pub hwm_kib: u64,
}

/// Reads `/proc/self/status`.
///
/// # Errors
/// The file cannot be read (not Linux), or lacks `VmRSS`/`VmHWM`.
pub fn read() -> io::Result<Status> {
    let text = std::fs::read_to_string("/proc/self/status")?;
    parse(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/self/status has no VmRSS or VmHWM line",
        )
    })
}

/// The figures of a `/proc/PID/status` text.
pub fn parse(text: &str) -> Option<Status> {
    let field = |name: &str| -> Option<u64> {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            let number = rest.trim().strip_suffix("kB")?.trim();
            number.parse().ok()
        })
    };
    Some(Status {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
    })
}
