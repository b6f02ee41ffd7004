//! A movable clock for code that takes a `fn() -> OffsetDateTime` (`Sigra`, the job
//! `Worker`): `clock!()` makes one with its own static, so tests running in parallel never
//! share one.

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};

use time::OffsetDateTime;

/// Start of every test's clock: a multiple of 15 minutes, so rate-limit windows start here.
pub const T0: i64 = 1_800_000_000;
pub const MIN: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

pub struct Clock {
    pub now: &'static AtomicI64,
    pub read: fn() -> OffsetDateTime,
}

impl Clock {
    /// Moves the clock `secs` seconds on.
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, SeqCst);
    }
    /// Sets the clock to a Unix time.
    pub fn set(&self, unix: i64) {
        self.now.store(unix, SeqCst);
    }
    pub fn now(&self) -> OffsetDateTime {
        (self.read)()
    }
}

/// A fresh clock at [`T0`], independent of every other test's (the macro expands to a fresh
/// static at each use).
macro_rules! clock {
    () => {{
        static NOW: ::std::sync::atomic::AtomicI64 =
            ::std::sync::atomic::AtomicI64::new($crate::support::clock::T0);
        fn read() -> ::time::OffsetDateTime {
            ::time::OffsetDateTime::from_unix_timestamp(
                NOW.load(::std::sync::atomic::Ordering::SeqCst),
            )
            .unwrap()
        }
        $crate::support::clock::Clock { now: &NOW, read }
    }};
}
