//! A one-pass scan of the response heads load targets send, before httparse.
//!
//! Reading the head was the largest user-space cost per request (callgrind: about a quarter of
//! the instructions, for nginx's five header lines). This scan takes only the strict RFC 9112
//! form: `HTTP/1.0` or `HTTP/1.1`, a three-digit status, CRLF line ends, header names of token
//! characters directly followed by the colon, no folded lines. On anything else, an incomplete
//! head included, it answers None and the caller asks httparse, which decides (and reports the
//! error). So it accepts a subset of what httparse accepts and reads that subset the same way:
//! the same length, status, values (without surrounding whitespace) and line range; a test
//! compares the two on thousands of mutated heads.

use std::ops::Range;

/// A head the scan took.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Scanned {
    /// Bytes of the head, the blank line included.
    pub len: usize,
    pub status: u16,
    pub http11: bool,
    /// From the first header name to the end of the last value (0..0 without headers).
    pub lines: Range<usize>,
}

/// Scans the head at the start of `buf`, handing each header line to `line` (name, value
/// without surrounding whitespace); None when `line` refuses one, when there are more than
/// `max_headers`, or when the head is not (yet) in the strict form.
pub(super) fn head(
    buf: &[u8],
    max_headers: usize,
    mut line: impl FnMut(&[u8], &[u8]) -> bool,
) -> Option<Scanned> {
    let (status, http11) = status_line(buf.get(..12)?)?;
    let mut i = 12;
    if *buf.get(i)? == b' ' {
        i = value_end(buf, i + 1)?;
    }
    i = crlf(buf, i)?;
    let mut first = None;
    let mut last_end = 0;
    let mut count = 0;
    loop {
        if *buf.get(i)? == b'\r' {
            let len = crlf(buf, i)?;
            let lines = first.map_or(0..0, |from| from..last_end);
            return Some(Scanned {
                len,
                status,
                http11,
                lines,
            });
        }
        let colon = name_end(buf, i)?;
        if colon == i || buf[colon] != b':' {
            return None;
        }
        let mut from = colon + 1;
        while matches!(*buf.get(from)?, b' ' | b'\t') {
            from += 1;
        }
        let end = value_end(buf, from)?;
        let mut to = end;
        while to > from && matches!(buf[to - 1], b' ' | b'\t') {
            to -= 1;
        }
        count += 1;
        if count > max_headers || !line(&buf[i..colon], &buf[from..to]) {
            return None;
        }
        first.get_or_insert(i);
        last_end = to;
        i = crlf(buf, end)?;
    }
}

/// `HTTP/1.x NNN` (exactly 12 bytes): the status and whether the version is 1.1.
fn status_line(start: &[u8]) -> Option<(u16, bool)> {
    let http11 = match start[..9] {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'1', b' '] => true,
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'0', b' '] => false,
        _ => return None,
    };
    let mut status = 0u16;
    for d in &start[9..12] {
        if !d.is_ascii_digit() {
            return None;
        }
        status = status * 10 + u16::from(d - b'0');
    }
    Some((status, http11))
}

// Eight bytes at a time as one little-endian word (the first byte lowest), with a flag (the
// high bit) per byte: the lowest flagged byte is the first one that ends the run.
const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The 8 bytes at `i` as a little-endian word (the first byte lowest).
fn word(buf: &[u8], i: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(buf.get(i..i + 8)?);
    Some(u64::from_le_bytes(w))
}

/// Advances from `i` eight bytes at a time while `stops` flags none of them, then to the
/// first flagged byte (or to where fewer than eight bytes are left).
fn skip_words(buf: &[u8], mut i: usize, stops: impl Fn(u64) -> u64) -> usize {
    while let Some(w) = word(buf, i) {
        let flags = stops(w) & HIGH;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// The index of the first byte at or after `i` that is not a header name byte; None at the
/// buffer's end.
fn name_end(buf: &[u8], i: usize) -> Option<usize> {
    // Flags each byte that is not an ASCII letter, digit or '-'. No sum of an ASCII byte
    // carries into the next byte, so every flag up to the first such byte is exact.
    let mut i = skip_words(buf, i, |w| {
        let ascii = !w & HIGH;
        let folded = w | (ONES * 0x20);
        let between = |x: u64, lo: u8, hi: u8| {
            x.wrapping_add(ONES * u64::from(0x80 - lo))
                & !x.wrapping_add(ONES * u64::from(0x7f - hi))
        };
        let letter = between(folded, b'a', b'z');
        let digit = between(w, b'0', b'9');
        let dash = !(w ^ (ONES * 0x2d)).wrapping_add(ONES * 0x7f);
        !((letter | digit | dash) & ascii)
    });
    while TOKEN[usize::from(*buf.get(i)?)] {
        i += 1;
    }
    Some(i)
}

/// The index of the first byte at or after `i` that may not be in a field value or reason
/// phrase (the line's end, or a byte that makes the head unusual); None at the buffer's end.
fn value_end(buf: &[u8], i: usize) -> Option<usize> {
    // Flags bytes below 0x20 and DEL; the first flag is exact (a borrow only starts there).
    let mut i = skip_words(buf, i, |w| {
        let below_space = w.wrapping_sub(ONES * 0x20) & !w;
        let del = w ^ (ONES * 0x7f);
        below_space | (del.wrapping_sub(ONES) & !del)
    });
    while VALUE[usize::from(*buf.get(i)?)] {
        i += 1;
    }
    Some(i)
}

/// The index after the CRLF at `i`; None when the line does not end there that way.
fn crlf(buf: &[u8], i: usize) -> Option<usize> {
    (buf.get(i..i + 2)? == b"\r\n").then_some(i + 2)
}

/// Header name bytes: RFC 9110 `tchar`, as httparse's table.
static TOKEN: [bool; 256] = table(Class::Token);

/// Field value and reason phrase bytes: HTAB, SP, VCHAR and obs-text, as httparse's table.
static VALUE: [bool; 256] = table(Class::Value);

enum Class {
    Token,
    Value,
}

const fn table(class: Class) -> [bool; 256] {
    let mut out = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        out[i] = match class {
            Class::Token => {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#'
                            | b'$'
                            | b'%'
                            | b'&'
                            | b'\''
                            | b'*'
                            | b'+'
                            | b'-'
                            | b'.'
                            | b'^'
                            | b'_'
                            | b'`'
                            | b'|'
                            | b'~'
                    )
            }
            Class::Value => b == b'\t' || (b >= b' ' && b != 0x7f),
        };
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
