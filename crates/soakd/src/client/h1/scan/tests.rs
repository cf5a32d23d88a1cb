//! The scan takes the heads load targets send, leaves every unusual one to httparse, and reads
//! what it takes exactly as httparse does.

use super::*;
use std::mem::MaybeUninit;

/// What a reader made of a head: length, status, HTTP/1.1, header (name, value) pairs, and the
/// line range.
type Reading = (usize, u16, bool, Vec<(Vec<u8>, Vec<u8>)>, Range<usize>);

fn by_scan(buf: &[u8]) -> Option<Reading> {
    let mut pairs = Vec::new();
    let s = head(buf, 100, |n, v| {
        pairs.push((n.to_vec(), v.to_vec()));
        true
    })?;
    Some((s.len, s.status, s.http11, pairs, s.lines))
}

/// httparse's reading (None: partial or an error).
fn by_httparse(buf: &[u8]) -> Option<Reading> {
    let mut slots = [const { MaybeUninit::<httparse::Header>::uninit() }; 100];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    let base = buf.as_ptr() as usize;
    let lines = match (resp.headers.first(), resp.headers.last()) {
        (Some(f), Some(l)) => {
            f.name.as_ptr() as usize - base..l.value.as_ptr() as usize - base + l.value.len()
        }
        _ => 0..0,
    };
    let pairs = resp
        .headers
        .iter()
        .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
        .collect();
    Some((len, resp.code?, resp.version == Some(1), pairs, lines))
}

const NGINX: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Fri, 04 Dec 2026 03:37:19 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";

#[test]
fn the_heads_targets_send_are_taken_and_read_as_httparse_reads_them() {
    let heads: [&[u8]; 6] = [
        NGINX,
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.0 200\r\nX-Empty:\r\nX-Pad: \t a b \t\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nX-Bin: caf\xc3\xa9\r\n\r\n",
        b"HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
        b"HTTP/1.1 302 Found\r\nLocation: /a?b=c&d=e\r\nX-Long: 0123456789abcdef0123456789abcdef\r\n\r\n",
    ];
    for raw in heads {
        let scanned = by_scan(raw);
        assert!(scanned.is_some(), "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(
            scanned,
            by_httparse(raw),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn unusual_and_incomplete_heads_are_left_to_httparse() {
    let heads: [&[u8]; 12] = [
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", // bare LF line ends
        b"\r\nHTTP/1.1 200 OK\r\n\r\n",            // a leading empty line
        b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",  // a folded line
        b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",       // space before the colon
        b"HTTP/2.0 200 OK\r\n\r\n",                // another version
        b"HTTP/1.1 20x OK\r\n\r\n",                // not a status
        b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n",   // DEL in a value
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",   // NUL in a value
        b"HTTP/1.1 200 OK\r\n: a\r\n\r\n",         // an empty name
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", // incomplete
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r", // incomplete
        b"HTTP/1.1 200",                           // incomplete
    ];
    for raw in heads {
        assert_eq!(by_scan(raw), None, "{:?}", String::from_utf8_lossy(raw));
    }
    let many: String = (0..101).map(|i| format!("x-{i}: v\r\n")).collect();
    let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(by_scan(raw.as_bytes()), None, "more than 100 headers");
}

#[test]
fn a_refused_line_leaves_the_head_to_httparse() {
    assert_eq!(head(NGINX, 100, |name, _| name != b"Date"), None);
}

#[test]
fn the_eight_byte_runs_stop_exactly_where_the_byte_tables_do() {
    // Every byte value at every place of a word, after plain bytes and before more of them.
    for b in 0..=255u8 {
        for at in 0..8 {
            let mut buf = vec![b'a'; 24];
            buf[at] = b;
            buf[at + 1] = 0xff; // a high byte after it: its carry must not matter
            let name_ref = buf.iter().position(|c| !TOKEN[usize::from(*c)]);
            assert_eq!(name_end(&buf, 0), name_ref, "name, byte {b:#x} at {at}");
            let value_ref = buf.iter().position(|c| !VALUE[usize::from(*c)]);
            assert_eq!(value_end(&buf, 0), value_ref, "value, byte {b:#x} at {at}");
        }
    }
}

/// A small deterministic generator (xorshift64*): the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below
    }
}

#[test]
fn on_mutated_heads_whatever_the_scan_takes_httparse_reads_the_same() {
    let seeds: [&[u8]; 3] = [
        NGINX,
        b"HTTP/1.0 404 Not Found\r\nConnection: close, keep-alive\r\nX-A:\t1 \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5, 5\r\n\r\n",
    ];
    let bytes = b"\r\n \t:,0aZ\x00\x7f\x80\xff-";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut taken, mut left) = (0, 0);
    for round in 0..30_000 {
        let mut raw = seeds[round % seeds.len()].to_vec();
        for _ in 0..=rng.next(3) {
            let at = rng.next(raw.len());
            let b = bytes[rng.next(bytes.len())];
            match rng.next(4) {
                0 => raw[at] = b,
                1 => raw.insert(at, b),
                2 => drop(raw.remove(at)),
                _ => raw.truncate(at),
            }
            if raw.is_empty() {
                raw.push(b);
            }
        }
        match by_scan(&raw) {
            Some(scanned) => {
                taken += 1;
                assert_eq!(
                    Some(scanned),
                    by_httparse(&raw),
                    "{:?}",
                    String::from_utf8_lossy(&raw)
                );
            }
            None => left += 1,
        }
    }
    // Both kinds occur, so the comparison above was not vacuous.
    assert!(taken > 1_000 && left > 1_000, "taken {taken}, left {left}");
}
