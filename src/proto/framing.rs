//! Cutting SIP messages out of a byte stream (TCP), RFC 3261 §18.3: a
//! message is its header section up to the empty line plus exactly
//! Content-Length bytes of body, and Content-Length is mandatory on a
//! stream. Also the RFC 5626 §3.5.1 keep-alive: a double CRLF ("ping")
//! between messages, which the driver answers with a single CRLF ("pong");
//! other CRLFs between messages are ignored (RFC 3261 §7.5).
//!
//! Invariants: memory is bounded, the header section by
//! [`StreamFramer::with_limits`]'s `max_header` (64 KiB by default) and the
//! body by `max_body` (1 MiB); feeding the bytes in any chunking yields the
//! same messages; after an error the framer keeps returning it, because the
//! stream cannot be resynchronised and the connection must be closed.

use std::mem;

use super::message::content_length;

/// Why a stream can no longer be read; the connection must be closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("header section longer than {limit} bytes")]
    HeaderTooLarge { limit: usize },
    #[error("body of {length} bytes is over the limit of {limit}")]
    BodyTooLarge { length: usize, limit: usize },
    /// RFC 3261 §18.3: a message on a stream must carry Content-Length.
    #[error("message without Content-Length on a stream")]
    MissingContentLength,
    #[error("bad Content-Length: {0}")]
    BadContentLength(&'static str),
}

/// Reassembles whole messages from stream reads; see the module docs.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    /// How far the search for the empty line has already looked, so that
    /// byte-by-byte feeding does not rescan the same bytes.
    scanned: usize,
    /// Header length and body length of the message being received, once
    /// its header section is complete.
    pending: Option<(usize, usize)>,
    pings: usize,
    error: Option<FramingError>,
    max_header: usize,
    max_body: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamFramer {
    pub const DEFAULT_MAX_HEADER: usize = 64 * 1024;
    pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

    pub fn new() -> Self {
        Self::with_limits(Self::DEFAULT_MAX_HEADER, Self::DEFAULT_MAX_BODY)
    }

    pub fn with_limits(max_header: usize, max_body: usize) -> Self {
        StreamFramer {
            buffer: Vec::new(),
            scanned: 0,
            pending: None,
            pings: 0,
            error: None,
            max_header,
            max_body,
        }
    }

    /// Appends bytes read from the stream. Nothing is buffered any more once
    /// an error was returned.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// The next whole message (header section and Content-Length bytes of
    /// body), `None` if more bytes are needed, or the error that ends the
    /// stream (returned again on every later call).
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, FramingError>> {
        if let Some(error) = &self.error {
            return Some(Err(error.clone()));
        }
        match self.frame() {
            Ok(message) => message.map(Ok),
            Err(error) => {
                self.error = Some(error.clone());
                self.buffer = Vec::new();
                Some(Err(error))
            }
        }
    }

    /// How many RFC 5626 double-CRLF pings arrived since the last call; the
    /// driver answers each with a single CRLF.
    pub fn take_pings(&mut self) -> usize {
        mem::take(&mut self.pings)
    }

    /// Bytes received and not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn frame(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        if self.pending.is_none() {
            self.skip_keepalives();
            let Some(header_len) = self.find_header_end()? else {
                return Ok(None);
            };
            let length = match content_length(&self.buffer[..header_len]) {
                Ok(Some(length)) => length,
                Ok(None) => return Err(FramingError::MissingContentLength),
                Err(reason) => return Err(FramingError::BadContentLength(reason)),
            };
            if length > self.max_body {
                return Err(FramingError::BodyTooLarge {
                    length,
                    limit: self.max_body,
                });
            }
            self.pending = Some((header_len, length));
        }
        let Some((header_len, body_len)) = self.pending else {
            return Ok(None);
        };
        let total = header_len + body_len;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let rest = self.buffer.split_off(total);
        let message = mem::replace(&mut self.buffer, rest);
        self.pending = None;
        self.scanned = 0;
        Ok(Some(message))
    }

    /// Drops CRLFs in front of a message, counting each double CRLF as a
    /// ping. A lone CRLF at the end of the buffer is kept: it may be the
    /// first half of a ping.
    fn skip_keepalives(&mut self) {
        let mut start = 0;
        loop {
            let rest = &self.buffer[start..];
            if rest.starts_with(b"\r\n\r\n") {
                self.pings += 1;
                start += 4;
            } else if rest.starts_with(b"\r\n") && rest.len() > 2 && rest != b"\r\n\r" {
                // A stray CRLF (a pong, or RFC 3261 §7.5 padding); "\r\n\r"
                // waits, it may become a ping.
                start += 2;
            } else {
                break;
            }
        }
        if start > 0 {
            self.buffer.drain(..start);
            self.scanned = 0;
        }
    }

    /// The length of the header section including its empty line, once it
    /// has arrived.
    fn find_header_end(&mut self) -> Result<Option<usize>, FramingError> {
        if self.buffer.starts_with(b"\r\n") {
            return Ok(None);
        }
        let from = self.scanned.saturating_sub(3);
        let found = self.buffer[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| from + p + 4);
        match found {
            Some(end) if end > self.max_header => Err(FramingError::HeaderTooLarge {
                limit: self.max_header,
            }),
            Some(end) => Ok(Some(end)),
            None if self.buffer.len() > self.max_header => Err(FramingError::HeaderTooLarge {
                limit: self.max_header,
            }),
            None => {
                self.scanned = self.buffer.len();
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests;
