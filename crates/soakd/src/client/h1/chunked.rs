//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally from the read buffer.
//!
//! Bytes arrive in any split; the decoder consumes what it can and says whether the body ended.
//! Chunk extensions and trailer fields are read and discarded (nothing checks them); a size
//! line or trailer section that never ends is a protocol failure, not unbounded memory.

use crate::client::FailureReason;
use bytes::{Buf, BytesMut};

/// Longest chunk-size line (with extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// Most bytes of trailer fields accepted.
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(super) struct Chunked {
    state: State,
    trailer_bytes: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Size,
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    Trailers,
    Done,
}

impl Chunked {
    /// Consumes from `buf` into `out`; `Ok(true)` once the last chunk and trailers are read.
    /// `out` may not grow past `cap` bytes (`BodyTooLarge`).
    pub(super) fn decode(
        &mut self,
        buf: &mut BytesMut,
        out: &mut BytesMut,
        cap: usize,
    ) -> Result<bool, FailureReason> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_SIZE_LINE)? else {
                        return Ok(false);
                    };
                    let size = parse_size(&line)?;
                    if (out.len() as u64).saturating_add(size) > cap as u64 {
                        return Err(FailureReason::BodyTooLarge);
                    }
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        out.reserve(size as usize);
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(false);
                    }
                    let take = (left as usize).min(buf.len());
                    out.extend_from_slice(&buf[..take]);
                    buf.advance(take);
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd => match buf.first() {
                    None => return Ok(false),
                    Some(b'\n') => {
                        buf.advance(1);
                        self.state = State::Size;
                    }
                    Some(b'\r') if buf.len() < 2 => return Ok(false),
                    Some(b'\r') if buf[1] == b'\n' => {
                        buf.advance(2);
                        self.state = State::Size;
                    }
                    Some(_) => return Err(FailureReason::Protocol),
                },
                State::Trailers => {
                    let Some(line) = take_line(buf, MAX_TRAILERS)? else {
                        return Ok(false);
                    };
                    self.trailer_bytes += line.len() + 2;
                    if self.trailer_bytes > MAX_TRAILERS {
                        return Err(FailureReason::Protocol);
                    }
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
                State::Done => return Ok(true),
            }
        }
    }
}

/// One line without its CRLF (or bare LF), or None until it is complete.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, FailureReason> {
    let Some(end) = buf.iter().position(|b| *b == b'\n') else {
        if buf.len() > max {
            return Err(FailureReason::Protocol);
        }
        return Ok(None);
    };
    if end > max {
        return Err(FailureReason::Protocol);
    }
    let mut line = buf.split_to(end + 1);
    line.truncate(end);
    if line.last() == Some(&b'\r') {
        line.truncate(end - 1);
    }
    Ok(Some(line))
}

/// The hex size before any `;extension`.
fn parse_size(line: &[u8]) -> Result<u64, FailureReason> {
    let digits = line
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(FailureReason::Protocol);
    }
    digits.iter().try_fold(0u64, |n, d| {
        let v = (*d as char).to_digit(16).ok_or(FailureReason::Protocol)?;
        Ok(n * 16 + u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes; returns the body and the bytes left after it.
    fn feed(wire: &[u8], step: usize, cap: usize) -> Result<(Vec<u8>, Vec<u8>), FailureReason> {
        let mut dec = Chunked::default();
        let mut buf = BytesMut::new();
        let mut out = BytesMut::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            if dec.decode(&mut buf, &mut out, cap)? {
                return Ok((out.to_vec(), buf.to_vec()));
            }
        }
        Err(FailureReason::Reset) // the wire ended first
    }

    const WIRE: &[u8] = b"5;name=v\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";

    #[test]
    fn a_body_decodes_the_same_whatever_the_split() {
        for step in 1..=WIRE.len() {
            let (body, rest) = feed(WIRE, step, 1024).expect("decodes");
            assert_eq!(body, b"hello, world", "step {step}");
            // What follows the body stays in the buffer, as much of it as had arrived.
            assert!(b"NEXT".starts_with(&rest), "step {step}: {rest:?}");
        }
    }

    #[test]
    fn bare_lf_line_ends_are_accepted() {
        let (body, _) = feed(b"3\nabc\n0\n\n", 64, 1024).expect("decodes");
        assert_eq!(body, b"abc");
    }

    #[test]
    fn a_body_over_the_cap_fails_before_it_is_read() {
        assert_eq!(
            feed(b"ffffff\r\n", 64, 1024),
            Err(FailureReason::BodyTooLarge)
        );
        assert_eq!(
            feed(b"400\r\n", 64, 1024).map(|_| ()),
            Err(FailureReason::Reset),
            "exactly the cap is allowed (and then the wire ends)"
        );
    }

    #[test]
    fn malformed_chunks_are_protocol_failures() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"3\r\nabcX\r\n",
            b"1234567890abcdef0\r\n",
        ] {
            assert_eq!(
                feed(bad, 64, 1 << 20),
                Err(FailureReason::Protocol),
                "{bad:?}"
            );
        }
        let endless = vec![b'1'; MAX_SIZE_LINE + 2];
        assert_eq!(feed(&endless, 64, 1 << 20), Err(FailureReason::Protocol));
    }
}
