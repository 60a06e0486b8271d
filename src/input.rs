//! Reading the request from stdin, bounded in size and in time.
//!
//! At most one byte past the size limit is read, so that an oversized request is noticed without
//! reading all of it. And a stdin that is never closed cannot hold the run past the request's own
//! deadline: the bytes are searched for `execution_deadline_unix_time_ms` as they arrive, and once
//! it is known, reading waits no longer than the deadline less the runner's margin.

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::protocol::request::MAX_REQUEST_BYTES;

/// How reading stdin ended.
#[derive(Debug)]
pub(crate) enum Input {
    /// End of file, or one byte past the size limit: the request as sent.
    Ended(Vec<u8>),
    /// The request's deadline came while stdin was still open: what had arrived by then.
    CutAtDeadline(Vec<u8>),
}

/// The key whose value bounds the reading.
const DEADLINE_KEY: &[u8] = b"\"execution_deadline_unix_time_ms\"";

/// Reads the request from stdin; `margin` is how long before the deadline reading gives up.
pub(crate) fn read_stdin(margin: Duration) -> Result<Input> {
    let stdin = std::io::stdin().lock();
    read(stdin, margin).map_err(|e| {
        Error::invalid_request(format!("The request could not be read from stdin: {e}."))
    })
}

#[cfg(target_os = "linux")]
fn read(reader: impl Read + std::os::fd::AsFd, margin: Duration) -> std::io::Result<Input> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};

    let limit = MAX_REQUEST_BYTES + 1;
    // Requests of megabytes (bulk URL lists) are read without repeated regrowth.
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut stop: Option<SystemTime> = None;
    let mut searched = 0;
    loop {
        if buf.len() >= limit {
            buf.truncate(limit);
            return Ok(Input::Ended(buf));
        }
        if let Some(stop) = stop {
            let left = stop
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let timeout = Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let mut fds = [PollFd::new(&reader, PollFlags::IN)];
            // With the deadline already past this still reads what is there, end of file
            // included: only a stdin with nothing more to give is cut.
            let ready = match poll(&mut fds, Some(&timeout)) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if ready == 0 {
                return Ok(Input::CutAtDeadline(buf));
            }
        }
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().min(limit - buf.len()));
        }
        // Into the spare capacity, without zeroing it first.
        let n = match rustix::io::read(&reader, rustix::buffer::spare_capacity(&mut buf)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Ok(Input::Ended(buf));
        }
        if stop.is_none() {
            stop = find_deadline(&buf, &mut searched).map(|deadline| deadline - margin);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn read(reader: impl Read, _margin: Duration) -> std::io::Result<Input> {
    let mut buf = Vec::with_capacity(1 << 20);
    reader
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(Input::Ended(buf))
}

/// The deadline the request names, once its digits have all arrived. `searched` is how far the
/// bytes were searched before, so that each call looks at what is new (and a key cut in two
/// between reads).
fn find_deadline(buf: &[u8], searched: &mut usize) -> Option<SystemTime> {
    let from = searched.saturating_sub(DEADLINE_KEY.len());
    let Some(at) = memchr::memmem::find(&buf[from..], DEADLINE_KEY).map(|i| from + i) else {
        *searched = buf.len();
        return None;
    };
    // Searched up to the key only: its value may still be on its way.
    *searched = at;
    let rest = &buf[at + DEADLINE_KEY.len()..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits == rest.len() {
        return None;
    }
    let ms: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_found_once_its_digits_are_in() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        let mut searched = 0;
        let text =
            br#"{"action": "ping", "execution_deadline_unix_time_ms" : 1795000000000, "x": 1}"#;
        assert_eq!(find_deadline(text, &mut searched), Some(at(1795000000000)));
        // Arriving in pieces: the key cut in two, then the number.
        let mut searched = 0;
        let (a, b, c) = (&text[..30], &text[..60], &text[..]);
        assert_eq!(find_deadline(a, &mut searched), None);
        assert_eq!(find_deadline(b, &mut searched), None, "digits may go on");
        assert_eq!(find_deadline(c, &mut searched), Some(at(1795000000000)));
        let mut searched = 0;
        assert_eq!(
            find_deadline(
                br#"{"execution_deadline_unix_time_ms": "soon"}"#,
                &mut searched
            ),
            None
        );
    }
}
