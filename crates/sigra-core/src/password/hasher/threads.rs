//! The hashing threads: one per permit, started on first use, at a lower CPU priority on
//! Linux; the semaphore in front of them (FIFO, so no caller starves); the in-flight gauge; and
//! the `*_blocking` path that takes a permit by parking the calling thread.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll, Wake, Waker};

use super::{Inner, PasswordHasher};
use crate::password::PasswordError;

/// One unit of hashing work.
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads (Linux): above the request-serving threads' 0, so
/// a login flood that keeps every hashing thread busy still lets the scheduler run request
/// handling first (authenticated pages stay fast), while idle CPU still goes to hashing.
pub(crate) const HASHING_THREAD_NICE: i32 = 10;

/// Starts `count` threads taking jobs from one queue, at `HASHING_THREAD_NICE`. They stop
/// when the sender is dropped (the last clone of the hasher).
pub(super) fn start_workers(count: usize) -> Result<Mutex<mpsc::Sender<Job>>, String> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("sigra-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = {
                        let queue = receiver.lock().unwrap_or_else(PoisonError::into_inner);
                        queue.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| format!("cannot start a password-hashing thread: {e}"))?;
    }
    Ok(Mutex::new(sender))
}

/// Lowers this thread's CPU priority (Linux: the nice value is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(None, HASHING_THREAD_NICE) {
        tracing::debug!(error = %err, "could not lower the priority of a password-hashing thread");
    }
}

/// Counts a hash in flight for as long as it lives.
pub(super) struct Busy<'a>(&'a Inner);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// Takes a permit, then runs `work` on one of the hasher's own threads. The permit moves
    /// into the job, so it is held until the work is done even if this future is dropped; a
    /// job whose caller has gone away by the time a thread takes it is skipped.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, PasswordError> + Send + 'static,
    {
        let workers = self.inner.workers()?;
        let permit = Arc::clone(&self.inner.semaphore)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::WorkerFailed {
                reason: "the hashing semaphore was closed".into(),
            })?;
        let inner = Arc::clone(&self.inner);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if done.is_closed() {
                return;
            }
            let result = {
                let _busy = inner.enter();
                work(&inner)
            };
            // Free the permit before answering, so the caller never sees its own work still
            // counted.
            drop(permit);
            // The caller may have gone meanwhile; then nobody wants the result.
            let _ = done.send(result);
        });
        workers.send(job).map_err(|_| PasswordError::WorkerFailed {
            reason: "the hashing threads have stopped".into(),
        })?;
        result.await.map_err(|_| PasswordError::WorkerFailed {
            reason: "a hashing thread stopped before answering".into(),
        })?
    }

    /// Takes a permit by parking this thread, then runs `work` here.
    pub(super) fn run_blocking<T>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, PasswordError>,
    ) -> Result<T, PasswordError> {
        let _permit =
            block_on(self.inner.semaphore.acquire()).map_err(|_| PasswordError::WorkerFailed {
                reason: "the hashing semaphore was closed".into(),
            })?;
        let _busy = self.inner.enter();
        work(&self.inner)
    }
}

impl Inner {
    /// The queue of the hashing threads, starting them on first use.
    pub(super) fn workers(&self) -> Result<mpsc::Sender<Job>, PasswordError> {
        match self.workers.get_or_init(|| start_workers(self.permits)) {
            Ok(sender) => Ok(sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()),
            Err(reason) => Err(PasswordError::WorkerFailed {
                reason: reason.clone(),
            }),
        }
    }

    pub(super) fn enter(&self) -> Busy<'_> {
        let now = self
            .in_flight
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        self.peak_in_flight.fetch_max(now, Ordering::AcqRel);
        Busy(self)
    }
}

/// Wakes a parked thread.
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to completion on this thread, parking between polls. Used only to wait for
/// a semaphore permit in the `*_blocking` methods (tokio's semaphore needs no runtime).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Argon2Params, Password};

    fn tiny() -> PasswordHasher {
        PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .permits(2)
            .build()
            .unwrap()
    }

    #[test]
    fn async_needs_no_tokio_runtime() {
        // The work runs on the hasher's own threads: any executor can await it.
        let hasher = tiny();
        let hash = block_on(hasher.hash(&Password::from("correct horse battery"))).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn hashing_threads_run_at_a_lower_priority() {
        let hasher = tiny();
        block_on(hasher.hash(&Password::from("correct horse battery"))).unwrap();
        let nice = hasher
            .inner
            .workers()
            .map(|workers| {
                let (tx, rx) = std::sync::mpsc::channel();
                workers
                    .send(Box::new(move || {
                        let _ = tx.send(rustix::process::getpriority_process(None));
                    }))
                    .unwrap();
                rx.recv().unwrap().unwrap()
            })
            .unwrap();
        assert_eq!(nice, HASHING_THREAD_NICE);
    }

    #[test]
    fn blocking_waits_for_a_permit() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .permits(1)
            .build()
            .unwrap();
        let held = hasher.inner.semaphore.try_acquire().unwrap();
        let h2 = hasher.clone();
        let worker =
            std::thread::spawn(move || h2.hash_blocking(&Password::from("correct horse battery")));
        // The worker cannot have started hashing while the only permit is held here.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(hasher.peak_in_flight(), 0);
        drop(held);
        assert!(worker.join().unwrap().is_ok());
        assert_eq!(hasher.peak_in_flight(), 1);
    }
}
