//! One HTTP/1.1 connection that a VU drives itself: write the request, read the response, in
//! the VU's own task.
//!
//! hyper's client gives every connection a task of its own and hands each request and response
//! across channels, with two 8 KB buffers per connection. For a load generator's hot path (one
//! connection per VU, one request at a time) that is most of the user-space cost per request and
//! of the memory per connection. wrk and oha's peers drive the socket directly; so does this.
//! Only plain HTTP/1.1 requests that need no framing of their own come here
//! ([`head::writes_itself`]); everything else goes through hyper.

mod chunked;
mod encoded;
mod head;
mod response;
mod scan;

pub(in crate::client) use encoded::Encoded;
pub(in crate::client) use head::writes_itself;

use super::{FailureReason, Response};
use bytes::{Bytes, BytesMut};
use hyper::http::{self, HeaderValue, Method};
use response::{Framing, Head};
use std::io;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes read per `read` at first; the buffer grows for larger messages.
const READ_CHUNK: usize = 4096;

/// How an exchange on this connection failed.
#[derive(Debug)]
pub(super) enum Error {
    /// Not a byte of the request was written: the connection was already closed.
    NotSent,
    /// The request was written, and the connection ended before a byte of response.
    NoResponse,
    /// Anything else, already classified.
    Failed(FailureReason),
}

impl From<FailureReason> for Error {
    fn from(r: FailureReason) -> Self {
        Error::Failed(r)
    }
}

/// What an exchange writes: a request built for this send, or one encoded once per run.
pub(super) enum Msg<'a, B> {
    Built(&'a http::Request<B>),
    Encoded(&'a Encoded),
}

impl<B> Clone for Msg<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for Msg<'_, B> {}

/// A kept-alive connection and its buffers.
pub(super) struct Conn {
    stream: TcpStream,
    read: BytesMut,
    write: Vec<u8>,
}

/// A response and whether its connection may be reused.
pub(super) struct Exchanged {
    pub response: Response,
    pub keep_alive: bool,
}

impl Conn {
    pub(super) fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            read: BytesMut::new(),
            write: Vec::new(),
        }
    }

    /// Whether a kept-alive connection still looks open: false when the server closed it while
    /// idle (or sent bytes nobody asked for).
    ///
    /// No syscall in the common case: the runtime cleared the socket's read readiness when the
    /// last response drained it, so readiness now means something arrived since (a FIN, a
    /// reset, stray bytes), and only then is the socket read. A close racing this check is
    /// caught as a request sent without a response byte.
    pub(super) fn looks_open(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                match self.stream.try_read(&mut probe) {
                    Err(e) => e.kind() == io::ErrorKind::WouldBlock,
                    Ok(_) => false, // 0: closed; anything else: unsolicited bytes
                }
            }
        }
    }

    /// Writes `msg` (a built request with `host` as its Host header unless it has one; a
    /// `traceparent` line when given) and reads its whole response (body capped at `cap` bytes).
    pub(super) async fn exchange<B: AsRef<[u8]>>(
        &mut self,
        msg: Msg<'_, B>,
        host: &HeaderValue,
        traceparent: Option<&[u8]>,
        cap: usize,
    ) -> Result<Exchanged, Error> {
        let head_request = match msg {
            Msg::Built(req) => {
                let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
                head::encode_request(
                    &mut self.write,
                    req.method(),
                    target,
                    req.headers(),
                    host,
                    traceparent,
                    req.body().as_ref(),
                );
                *req.method() == Method::HEAD
            }
            Msg::Encoded(e) => {
                e.write_into(&mut self.write, traceparent);
                e.head_request
            }
        };
        self.send().await?;
        self.receive(head_request, cap).await
    }

    async fn send(&mut self) -> Result<(), Error> {
        let mut sent = 0;
        while sent < self.write.len() {
            match self.stream.write(&self.write[sent..]).await {
                Ok(0) => return Err(not_sent_or_reset(sent)),
                Ok(n) => sent += n,
                Err(e) if sent == 0 && is_closed(&e) => return Err(Error::NotSent),
                Err(e) => return Err(super::classify(&e).into()),
            }
        }
        Ok(())
    }

    async fn receive(&mut self, head_request: bool, cap: usize) -> Result<Exchanged, Error> {
        let mut any_byte = false;
        let head = loop {
            // Nothing to parse before the first read (a kept-alive connection's buffer is empty).
            let parsed = match self.read.is_empty() {
                true => None,
                false => response::parse_response(&mut self.read, head_request)?,
            };
            if let Some(head) = parsed {
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue; // an interim response: the final one follows
                }
                break head;
            }
            if self.fill().await? == 0 {
                return Err(if any_byte || !self.read.is_empty() {
                    Error::Failed(FailureReason::Reset)
                } else {
                    Error::NoResponse
                });
            }
            any_byte = true;
        };
        let Head {
            status,
            headers,
            framing,
            mut keep_alive,
            ..
        } = head;
        let body = match framing {
            Framing::Empty => Bytes::new(),
            Framing::Length(n) => self.body_of_length(n, cap).await?,
            Framing::Chunked => self.body_chunked(cap).await?,
            Framing::UntilClose => self.body_until_close(cap).await?,
        };
        // Bytes nobody asked for after the response: the framing cannot be trusted further.
        keep_alive &= self.read.is_empty();
        Ok(Exchanged {
            response: Response {
                status,
                headers,
                body,
            },
            keep_alive,
        })
    }

    /// Reads once more into the buffer; `Ok(0)` at the end of the stream.
    async fn fill(&mut self) -> Result<usize, Error> {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 4 {
            self.read.reserve(READ_CHUNK);
        }
        match self.stream.read_buf(&mut self.read).await {
            Ok(n) => Ok(n),
            // Reset before any byte of the response is the reused-connection race.
            Err(e) if self.read.is_empty() && is_closed(&e) => Ok(0),
            Err(e) => Err(super::classify(&e).into()),
        }
    }

    async fn body_of_length(&mut self, n: u64, cap: usize) -> Result<Bytes, Error> {
        if n > cap as u64 {
            return Err(FailureReason::BodyTooLarge.into());
        }
        let n = n as usize;
        if self.read.len() < n {
            self.read.reserve(n - self.read.len());
        }
        while self.read.len() < n {
            if self.fill().await? == 0 {
                return Err(FailureReason::Reset.into());
            }
        }
        Ok(self.read.split_to(n).freeze())
    }

    async fn body_chunked(&mut self, cap: usize) -> Result<Bytes, Error> {
        let mut decoder = chunked::Chunked::default();
        let mut out = BytesMut::new();
        while !decoder.decode(&mut self.read, &mut out, cap)? {
            if self.fill().await? == 0 {
                return Err(FailureReason::Reset.into());
            }
        }
        Ok(out.freeze())
    }

    async fn body_until_close(&mut self, cap: usize) -> Result<Bytes, Error> {
        loop {
            if self.read.len() > cap {
                return Err(FailureReason::BodyTooLarge.into());
            }
            if self.fill().await? == 0 {
                return Ok(self.read.split().freeze());
            }
        }
    }
}

/// Closed by the peer: reset, aborted or a broken pipe.
fn is_closed(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
    )
}

fn not_sent_or_reset(sent: usize) -> Error {
    if sent == 0 {
        Error::NotSent
    } else {
        Error::Failed(FailureReason::Reset)
    }
}

#[cfg(test)]
mod tests;
