//! Response body of the calibration target: a plain buffer, or a fault-shaped stream.
//!
//! "Huge body" must not be buffered (it may be 100 MiB or more), and "slow body" must trickle
//! at a fixed byte rate, so the body is a small hand-written `hyper::body::Body` that emits
//! zero-filled chunks on demand and optionally paces them with a timer.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Chunk size of generated bodies.
const CHUNK: usize = 64 * 1024;
static ZEROS: [u8; CHUNK] = [0u8; CHUNK];

enum Source {
    Bytes(Bytes),
    Zeros(u64),
}

impl Source {
    fn remaining(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::Zeros(n) => *n,
        }
    }

    fn take(&mut self, max: usize) -> Bytes {
        match self {
            Source::Bytes(b) => b.split_to(max.min(b.len())),
            Source::Zeros(n) => {
                let len = (*n).min(max.min(CHUNK) as u64) as usize;
                *n -= len as u64;
                Bytes::from_static(&ZEROS[..len])
            }
        }
    }
}

struct Pace {
    chunk: usize,
    interval: Duration,
    sleep: Pin<Box<Sleep>>,
}

/// The body type every target response uses.
pub struct TargetBody {
    source: Source,
    pace: Option<Pace>,
}

impl TargetBody {
    /// A buffered body sent in one frame.
    pub fn full(data: impl Into<Bytes>) -> Self {
        TargetBody {
            source: Source::Bytes(data.into()),
            pace: None,
        }
    }

    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// `len` zero bytes, generated chunk by chunk.
    pub fn zeros(len: u64) -> Self {
        TargetBody {
            source: Source::Zeros(len),
            pace: None,
        }
    }

    /// Trickles the body at about `bytes_per_sec` (a chunk every 100 ms, or 1 byte at a time
    /// for very low rates). A rate of 0 leaves the body unpaced.
    pub fn paced(mut self, bytes_per_sec: u64) -> Self {
        if bytes_per_sec == 0 {
            return self;
        }
        let chunk = (bytes_per_sec / 10).clamp(1, CHUNK as u64);
        let interval = Duration::from_nanos(chunk.saturating_mul(1_000_000_000) / bytes_per_sec);
        self.pace = Some(Pace {
            chunk: chunk as usize,
            interval,
            sleep: Box::pin(tokio::time::sleep(interval)),
        });
        self
    }
}

impl Body for TargetBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.source.remaining() == 0 {
            return Poll::Ready(None);
        }
        let max = match &mut this.pace {
            None => usize::MAX,
            Some(pace) => {
                if pace.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let next = Instant::now() + pace.interval;
                pace.sleep.as_mut().reset(next);
                pace.chunk
            }
        };
        Poll::Ready(Some(Ok(Frame::data(this.source.take(max)))))
    }

    fn is_end_stream(&self) -> bool {
        self.source.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.source.remaining())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn zeros_stream_exact_length() {
        let body = TargetBody::zeros(200_000)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len(), 200_000);
    }

    #[tokio::test]
    async fn paced_body_takes_its_time() {
        let start = Instant::now();
        let body = TargetBody::full(vec![1u8; 20])
            .paced(100)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len(), 20);
        assert!(start.elapsed() >= Duration::from_millis(180));
    }
}
