//! Duration shorthands for the defaults.

use std::time::Duration;

pub(crate) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) const fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

pub(crate) const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

pub(crate) const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}
