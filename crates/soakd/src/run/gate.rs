//! A future that is polled only when it asked to be: for the stop signals a VU waits on
//! beside its iterations.
//!
//! A VU's task wakes once or twice per request, and a `select!` polls every branch on every
//! wake. Polling a cancellation token's or a watch channel's waiter takes its notifier's lock
//! each time (callgrind: ~300 user instructions per request for the two stop branches), though
//! those branches fire once per run. [`Gated`] gives its future a waker of its own that raises
//! a flag before waking the task; until the flag is up, a poll costs one registration of the
//! task's waker and one atomic swap, and the inner future is not touched.

use futures_util::task::AtomicWaker;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// `inner`, polled on the first poll and afterwards only once its own waker was woken.
pub(super) struct Gated<F> {
    inner: Pin<Box<F>>,
    flag: Arc<Flag>,
    /// The waker handed to `inner`: raises `flag`, then wakes the task.
    waker: Waker,
}

struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> Gated<F> {
    /// Boxed once here, so `Gated` is `Unpin` and the future stays put.
    pub(super) fn new(inner: F) -> Self {
        let flag = Arc::new(Flag {
            // Up at first: the first poll registers the inner future's waiters.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Gated {
            inner: Box::pin(inner),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // Register before looking at the flag: a wake in between still wakes this task.
        this.flag.task.register(cx.waker());
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        this.inner
            .as_mut()
            .poll(&mut Context::from_waker(&this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    #[tokio::test(start_paused = true)]
    async fn a_gated_future_still_ends_when_its_signal_comes() {
        let token = CancellationToken::new();
        let gated = Gated::new(token.clone().cancelled_owned());
        let cancel = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            token.cancel();
        };
        let (done, ()) = tokio::join!(tokio::time::timeout(Duration::from_secs(5), gated), cancel);
        assert!(done.is_ok(), "the cancellation reached the gated future");
    }

    #[tokio::test(start_paused = true)]
    async fn polls_without_a_wake_do_not_reach_the_inner_future() {
        let polls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = polls.clone();
        let mut gated = Gated::new(std::future::poll_fn(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            Poll::<()>::Pending
        }));
        for _ in 0..10 {
            let waker = Waker::noop();
            assert!(
                Pin::new(&mut gated)
                    .poll(&mut Context::from_waker(waker))
                    .is_pending()
            );
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "only the first poll went through"
        );
        gated.waker.wake_by_ref();
        let waker = Waker::noop();
        let _ = Pin::new(&mut gated).poll(&mut Context::from_waker(waker));
        assert_eq!(
            polls.load(Ordering::Relaxed),
            2,
            "a wake lets the next poll through"
        );
    }
}
