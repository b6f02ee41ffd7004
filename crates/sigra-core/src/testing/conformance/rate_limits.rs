//! [`RateLimitStore`] contracts.

use std::collections::BTreeSet;

use super::{Must, RACERS, at, broken, check_eq, commit, in_zone, race, whole};
use crate::store::{RateLimitStore, Store, Transaction};

const HIT_FIX: &str = "count with one upsert: INSERT INTO rate_limits (key, window_start, count) \
     VALUES ($1, $2, 1) ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1 \
     RETURNING count";

/// Hits count 1, 2, 3 per `(key, window)`; `rate_limit_count` reads without counting (0 when
/// absent); the same instant given in another time zone is the same window.
pub async fn hit_and_count<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "RateLimitStore::hit / rate_limit_count count per key and window";
    let window = at(0, 0);
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.rate_limit_count("login:ip:203.0.113.7", window)
            .await
            .must("rate_limit_count"),
        0,
        C,
        "return 0 when the window has no row",
    );
    for want in 1..=3u32 {
        let zone = if want == 2 { 4 } else { 0 };
        let got = tx
            .hit("login:ip:203.0.113.7", in_zone(window, zone))
            .await
            .must("hit");
        check_eq(
            got,
            want,
            C,
            "key the window by its instant (on SQLite, one fixed UTC text format) and upsert",
        );
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    for _ in 0..2 {
        check_eq(
            tx.rate_limit_count("login:ip:203.0.113.7", window)
                .await
                .must("rate_limit_count"),
            3,
            C,
            "rate_limit_count only reads: SELECT count … WHERE key = $1 AND window_start = $2",
        );
    }
    let other_key = tx.hit("login:ip:203.0.113.8", window).await.must("hit");
    check_eq(other_key, 1, C, "count each key separately");
    let next_window = tx.hit("login:ip:203.0.113.7", at(0, 1)).await.must("hit");
    check_eq(
        next_window,
        1,
        C,
        "count each window separately (to the microsecond)",
    );
    let unicode = tx
        .hit("login:email:zoë@exämple.com", window)
        .await
        .must("hit");
    check_eq(unicode, 1, C, "keys are UTF-8 TEXT");
    commit(tx).await;
}

/// [`RACERS`] concurrent hits in separate transactions raise the count by exactly that many,
/// each returning a different count: on a new window (the insert path of the upsert) and on
/// one that already has a row (the update path).
pub async fn hit_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    race_hits(&store, "magic_link:user:1", 0).await;
    let mut tx = store.begin().await.must("begin");
    let first = tx.hit("login:user:2", at(60, 0)).await.must("hit");
    check_eq(first, 1, "RateLimitStore::hit counts from 1", HIT_FIX);
    commit(tx).await;
    race_hits(&store, "login:user:2", 1).await;
}

async fn race_hits<S: Store<Tx: 'static>>(store: &S, key: &'static str, already: u32) {
    const C: &str = "RateLimitStore::hit is exact under concurrency";
    let window = at(60, 0);
    let results = race(store, RACERS, move |_, mut tx: S::Tx| async move {
        let n = tx.hit(key, window).await?;
        tx.commit().await?;
        Ok(n)
    })
    .await;
    let mut seen = BTreeSet::new();
    for result in results {
        match result {
            Ok(n) => {
                if !seen.insert(n) {
                    broken(
                        C,
                        format_args!("two concurrent hits both returned {n}"),
                        HIT_FIX,
                    );
                }
            }
            Err(err) => broken(C, format_args!("a concurrent hit failed: {err}"), HIT_FIX),
        }
    }
    let want: BTreeSet<u32> = (already + 1..=already + RACERS as u32).collect();
    check_eq(seen, want, C, HIT_FIX);
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.rate_limit_count(key, window)
            .await
            .must("rate_limit_count"),
        already + RACERS as u32,
        C,
        HIT_FIX,
    );
}

/// `prune_rate_limits(before)` deletes exactly the windows that started strictly before
/// `before` — sub-second and time-zone differences included — and counts them.
pub async fn prune<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "RateLimitStore::prune_rate_limits deletes windows that started before the cut-off";
    const FIX: &str = "DELETE FROM rate_limits WHERE window_start < $1; on SQLite store times in one \
         fixed UTC text format so text order is time order";
    let cut = whole(0, 0);
    let old = [
        whole(-3_600, 0),
        whole(-1, 999_999),
        in_zone(whole(0, -1), 6),
        whole(-1, 900_000),
        whole(-1, 150_000),
        whole(-86_400 * 365 * 30, 0),
    ];
    let young = [
        cut,
        whole(0, 1),
        in_zone(whole(0, 500_000), -6),
        whole(0, 100_000),
        whole(0, 150_000),
        whole(1, 0),
    ];
    let mut tx = store.begin().await.must("begin");
    for (i, t) in old.iter().chain(young.iter()).enumerate() {
        tx.hit(&format!("k{i}"), *t).await.must("hit");
    }
    let n = tx
        .prune_rate_limits(in_zone(cut, -2))
        .await
        .must("prune_rate_limits");
    commit(tx).await;
    check_eq(n, old.len() as u64, C, FIX);
    let mut tx = store.begin().await.must("begin");
    for (i, t) in old.iter().chain(young.iter()).enumerate() {
        let count = tx
            .rate_limit_count(&format!("k{i}"), *t)
            .await
            .must("rate_limit_count");
        let should = u32::from(i >= old.len());
        if count != should {
            broken(
                C,
                format_args!(
                    "the window starting {t} is {} after pruning before {cut}",
                    if count == 0 { "gone" } else { "still there" }
                ),
                FIX,
            );
        }
    }
    let again = tx.prune_rate_limits(cut).await.must("prune_rate_limits");
    check_eq(again, 0, C, FIX);
}
