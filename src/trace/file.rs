//! Trace files: SIP messages as text a person can read with `less` and
//! that `confab trace FILE` reads back byte for byte.
//!
//! ```text
//! # confab SIP trace, format 1: ...
//! 2025-03-01T10:15:30.123Z received UDP 127.0.0.1:40000 -> 127.0.0.1:5060 612 bytes
//! INVITE sip:... SIP/2.0
//! ...the message, exactly as on the wire...
//!
//! 2025-03-01T10:15:30.125Z sent UDP 127.0.0.1:5060 -> 127.0.0.1:40000 388 bytes
//! ...
//! ```
//!
//! Each message is a header line (ISO-8601 UTC time with milliseconds,
//! `sent` or `received` as seen by the side that traced it, the transport,
//! `from -> to` in the direction the message travelled, the byte count),
//! then exactly that many bytes, then one newline. The count, never a
//! search for a delimiter, says where a message ends, so bodies with any
//! bytes (CRLF, bare LF, no final newline, non-UTF-8) come back unchanged.
//! Lines starting with `#` between messages, and empty ones, are comments.
//!
//! Reading is bounded and never panics: no message over
//! [`MAX_MESSAGE_BYTES`], no file over [`MAX_FILE_BYTES`]; each error names
//! the line it is on. [`TraceReader`] yields the messages up to the first
//! error, so a file cut short by a crash still shows what it holds.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use super::{Direction, TraceEntry};
use crate::proto::Transport;

/// The first line a writer puts in a file.
pub const FILE_HEADER: &str = "# confab SIP trace, format 1: a line per message \
(time UTC, sent/received, transport, from -> to, byte count), then the message's bytes \
exactly, then a newline.";
/// The largest message a reader accepts: above any UDP datagram and any
/// message confab's TCP framer lets through.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// The largest file [`read_file`] opens.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// The longest header line a reader looks at.
const MAX_HEADER_LINE: usize = 512;

#[derive(Debug, Error)]
pub enum TraceFileError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    #[error(
        "line {line}: the message is cut short: {announced} bytes announced, {present} present"
    )]
    Truncated {
        line: usize,
        announced: usize,
        present: usize,
    },
    #[error("the file is {size} bytes, over the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Writes entries in the text form; call [`TraceWriter::flush`] to push
/// them out.
pub struct TraceWriter<W: Write> {
    out: W,
}

impl<W: Write> TraceWriter<W> {
    /// Starts a file: writes the comment line that says what it is.
    pub fn new(mut out: W) -> io::Result<TraceWriter<W>> {
        writeln!(out, "{FILE_HEADER}")?;
        Ok(TraceWriter { out })
    }

    pub fn write_entry(&mut self, entry: &TraceEntry) -> io::Result<()> {
        self.out.write_all(header_line(entry).as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.write_all(&entry.bytes)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The header line of an entry, without its newline.
pub fn header_line(entry: &TraceEntry) -> String {
    let (from, to) = match entry.direction {
        Direction::Sent => (entry.local, entry.peer),
        Direction::Received => (entry.peer, entry.local),
    };
    format!(
        "{} {} {} {from} -> {to} {} bytes",
        format_time(entry.at),
        direction_word(entry.direction),
        entry.transport,
        entry.bytes.len()
    )
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
    }
}

/// Reads a whole file; see [`read`].
pub fn read_file(path: &Path) -> Result<Vec<TraceEntry>, TraceFileError> {
    read(&load(path)?)
}

/// A file's bytes, refused past [`MAX_FILE_BYTES`].
pub fn load(path: &Path) -> Result<Vec<u8>, TraceFileError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE_BYTES {
        return Err(TraceFileError::TooLarge {
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(std::fs::read(path)?)
}

/// Every entry of a trace, or the first error.
pub fn read(bytes: &[u8]) -> Result<Vec<TraceEntry>, TraceFileError> {
    TraceReader::new(bytes).collect()
}

/// The entries of a trace one by one; after an error it yields nothing.
pub struct TraceReader<'a> {
    rest: &'a [u8],
    /// The 1-based number of the line `rest` starts on.
    line: usize,
    failed: bool,
}

impl<'a> TraceReader<'a> {
    pub fn new(bytes: &'a [u8]) -> TraceReader<'a> {
        TraceReader {
            rest: bytes,
            line: 1,
            failed: false,
        }
    }

    /// Takes one line (without its newline) off `rest`.
    fn next_line(&mut self) -> &'a [u8] {
        let rest = self.rest;
        let (line, after) = match rest.iter().position(|b| *b == b'\n') {
            Some(end) => (rest.get(..end).unwrap_or_default(), rest.get(end + 1..)),
            None => (rest, None),
        };
        self.rest = after.unwrap_or_default();
        self.line += 1;
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    fn entry(&mut self) -> Option<Result<TraceEntry, TraceFileError>> {
        // Comments and blank lines before the header.
        let (header, line) = loop {
            if self.rest.is_empty() {
                return None;
            }
            let line = self.line;
            let text = self.next_line();
            if text.iter().all(u8::is_ascii_whitespace) || text.starts_with(b"#") {
                continue;
            }
            break (text, line);
        };
        let header = match parse_header(header) {
            Ok(header) => header,
            Err(reason) => return Some(Err(TraceFileError::Syntax { line, reason })),
        };
        let Some(bytes) = self.rest.get(..header.len) else {
            return Some(Err(TraceFileError::Truncated {
                line,
                announced: header.len,
                present: self.rest.len(),
            }));
        };
        self.line += bytes.iter().filter(|b| **b == b'\n').count();
        self.rest = self.rest.get(header.len..).unwrap_or_default();
        // The newline that ends the message; its absence at the very end
        // of the file is forgiven.
        match self.rest.first() {
            None => {}
            Some(b'\n') => {
                self.rest = self.rest.get(1..).unwrap_or_default();
                self.line += 1;
            }
            Some(_) => {
                return Some(Err(TraceFileError::Syntax {
                    line: self.line,
                    reason: "no newline after the message: is the byte count right?".into(),
                }));
            }
        }
        Some(Ok(TraceEntry {
            at: header.at,
            direction: header.direction,
            transport: header.transport,
            local: header.local,
            peer: header.peer,
            bytes: bytes.to_vec(),
        }))
    }
}

impl Iterator for TraceReader<'_> {
    type Item = Result<TraceEntry, TraceFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.entry();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

struct Header {
    at: SystemTime,
    direction: Direction,
    transport: Transport,
    local: SocketAddr,
    peer: SocketAddr,
    len: usize,
}

/// `TIME sent|received UDP|TCP FROM -> TO N bytes`.
fn parse_header(line: &[u8]) -> Result<Header, String> {
    if line.len() > MAX_HEADER_LINE {
        return Err(format!(
            "a header line of {} bytes; expected TIME sent|received TRANSPORT FROM -> TO N bytes",
            line.len()
        ));
    }
    let text = std::str::from_utf8(line).map_err(|_| "the header line is not UTF-8".to_owned())?;
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let [time, direction, transport, from, arrow, to, len, unit] = words.as_slice() else {
        return Err(format!(
            "expected TIME sent|received TRANSPORT FROM -> TO N bytes, found {:?}",
            excerpt(text)
        ));
    };
    let at = parse_time(time)
        .ok_or_else(|| format!("{time:?} is not a time like 2025-03-01T10:15:30.123Z"))?;
    let direction = match *direction {
        "sent" => Direction::Sent,
        "received" => Direction::Received,
        other => return Err(format!("{other:?} is neither sent nor received")),
    };
    let transport = match transport.to_ascii_uppercase().as_str() {
        "UDP" => Transport::Udp,
        "TCP" => Transport::Tcp,
        _ => return Err(format!("{transport:?} is neither UDP nor TCP")),
    };
    let address = |text: &str| {
        text.parse::<SocketAddr>()
            .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:5060"))
    };
    let (from, to) = (address(from)?, address(to)?);
    if *arrow != "->" || *unit != "bytes" {
        return Err("expected FROM -> TO N bytes".into());
    }
    let len: usize = len
        .parse()
        .map_err(|_| format!("{len:?} is not a byte count"))?;
    if len > MAX_MESSAGE_BYTES {
        return Err(format!(
            "a message of {len} bytes, over the limit of {MAX_MESSAGE_BYTES}"
        ));
    }
    let (local, peer) = match direction {
        Direction::Sent => (from, to),
        Direction::Received => (to, from),
    };
    Ok(Header {
        at,
        direction,
        transport,
        local,
        peer,
        len,
    })
}

fn excerpt(text: &str) -> String {
    text.chars().take(60).collect()
}

/// `2025-03-01T10:15:30.123Z`; times before 1970 are written as 1970.
pub fn format_time(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// Reads what [`format_time`] writes (milliseconds optional, 1 to 9
/// digits of fraction taken to the millisecond).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-');
    let year: u64 = number(date_parts.next()?, 4)?;
    let month: u64 = number(date_parts.next()?, 2)?;
    let day: u64 = number(date_parts.next()?, 2)?;
    if date_parts.next().is_some() || year < 1970 || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut clock_parts = clock.split(':');
    let hour: u64 = number(clock_parts.next()?, 2)?;
    let minute: u64 = number(clock_parts.next()?, 2)?;
    let second: u64 = number(clock_parts.next()?, 2)?;
    if clock_parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = match fraction {
        None => 0,
        Some(digits) if (1..=9).contains(&digits.len()) => {
            let digits: String = digits.chars().chain("00".chars()).take(3).collect();
            number(&digits, 3)?
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds) + Duration::from_millis(millis))
}

/// Exactly `width` ASCII digits.
fn number(text: &str, width: usize) -> Option<u64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar,
/// counted by eras of 400 years (146,097 days) starting in March, so that
/// the leap day ends its year.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    (era * 146_097 + day_of_era).saturating_sub(719_468)
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
