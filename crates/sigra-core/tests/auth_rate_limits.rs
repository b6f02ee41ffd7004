//! `Sigra::rate_limit`, the fixed-window counter behind the web layer's per-IP limits. The
//! harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::time::Duration;

use sigra_core::auth::Sigra;
use sigra_core::config::Limit;
use sigra_core::store::{Store, StoreError};
use sigra_core::testing::MemoryTx;
use support::auth::*;

#[tokio::test]
async fn rate_limit_allows_ten_per_window_per_key() {
    let e = env(clock!());
    e.clock.advance(15);
    let limit = Limit::new(10, Duration::from_secs(60));
    for n in 1..=10u32 {
        let d = e.sigra.rate_limit("auth:203.0.113.7", &limit).await;
        assert!(d.allowed, "hit {n}");
        assert_eq!(d.limit, 10);
        assert_eq!(d.remaining, 10 - n);
        assert_eq!(d.reset_after, Duration::from_secs(45));
    }
    let refused = e.sigra.rate_limit("auth:203.0.113.7", &limit).await;
    assert!(!refused.allowed);
    assert_eq!(refused.remaining, 0);
    assert!(refused.reset_after <= limit.window && refused.reset_after > Duration::ZERO);

    let other = e.sigra.rate_limit("auth:198.51.100.1", &limit).await;
    assert!(other.allowed, "keys are independent");
    assert_eq!(other.remaining, 9);

    e.clock.advance(45);
    assert!(e.sigra.rate_limit("auth:203.0.113.7", &limit).await.allowed);
}

#[tokio::test]
async fn rate_limit_fails_closed_when_the_store_fails() {
    // A store that cannot begin a transaction.
    #[derive(Clone)]
    struct Down;
    impl Store for Down {
        type Tx = MemoryTx;
        async fn begin(&self) -> Result<MemoryTx, StoreError> {
            Err(StoreError::backend("down"))
        }
        async fn begin_read(&self) -> Result<MemoryTx, StoreError> {
            Err(StoreError::backend("down"))
        }
    }
    let sigra = Sigra::builder(Down, secret())
        .password_hasher(hasher(64))
        .build()
        .unwrap();
    let limit = Limit::new(10, Duration::from_secs(60));
    let d = sigra.rate_limit("auth:x", &limit).await;
    assert!(!d.allowed);
    assert_eq!(d.reset_after, limit.window);
}
