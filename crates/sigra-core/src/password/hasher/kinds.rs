//! The kinds of stored hash in use, and the equal work every verify pays for them.
//!
//! A login must take the same time whether the email is unknown or belongs to an account, or
//! the timing tells which emails are registered. An unknown email pays a dummy verify. If the
//! dummy were one Argon2id computation with the current parameters, an account whose stored
//! hash is of another kind (a bcrypt hash imported from another system, an Argon2 hash made
//! with older parameters) would take a different time, and an attacker timing logins would
//! tell those accounts from unknown emails.
//!
//! One dummy cannot look like every kind at once, and picking one kind per unknown email
//! would have to match the share of each kind among the accounts, which the hasher does not
//! know. So the hasher equalises instead: **every verify and every dummy verify does one
//! computation of each kind in use**, the stored hash's own kind for real and a dummy of each
//! other kind. An unknown email, a current account and a bcrypt account then all cost
//! `argon2id(current) + bcrypt(cost)`; the answer depends only on the real computation.
//!
//! The kinds in use are the current parameters, the kinds declared with
//! [`PasswordHasherBuilder::stored_hash_kind`](super::PasswordHasherBuilder::stored_hash_kind),
//! and every kind a verify has met since the hasher was made. Declaring the kinds the users
//! table holds closes the window before the first legacy login; without it, the first verify
//! of a new kind (after each start) costs more than the dummy verifies before it.
//!
//! The price: while a legacy kind is in use every login pays for it too (bcrypt cost 12 is
//! roughly 250 ms of one core). Legacy hashes are upgraded on each account's next login, so
//! the extra work ends at the first start after the last one is gone (or after the remaining
//! accounts are reset: `needs_rehash` finds them). At most [`MAX_KINDS`] kinds are kept; the
//! accounts of further kinds take a different time, and a warning says so once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::password::stored::{HashKind, StoredHash};

/// The most kinds of stored hash every verify pays for, the current parameters included.
pub(crate) const MAX_KINDS: usize = 4;

/// One kind in use and its dummy.
pub(super) struct InUse {
    /// The kind.
    pub(super) kind: HashKind,
    /// A hash of that kind, to spend the work on.
    pub(super) dummy: StoredHash,
}

/// The kinds every verify pays for, the current parameters first.
pub(super) struct KindsInUse {
    kinds: Mutex<Vec<Arc<InUse>>>,
    /// Whether the warning about a kind beyond [`MAX_KINDS`] was logged.
    warned_full: AtomicBool,
}

impl KindsInUse {
    /// The kinds `known` (duplicates dropped, at most [`MAX_KINDS`]).
    pub(super) fn new(known: impl IntoIterator<Item = HashKind>) -> Self {
        let kinds = Self {
            kinds: Mutex::new(Vec::new()),
            warned_full: AtomicBool::new(false),
        };
        for kind in known {
            kinds.observe(&kind);
        }
        kinds
    }

    /// Adds `kind` if it is new and there is room.
    pub(super) fn observe(&self, kind: &HashKind) {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        if kinds.iter().any(|in_use| in_use.kind == *kind) {
            return;
        }
        if kinds.len() >= MAX_KINDS {
            drop(kinds);
            if !self.warned_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    ?kind,
                    max = MAX_KINDS,
                    "more kinds of stored password hash than the dummy verify equalises: logins \
                     of accounts with this kind take a different time than unknown emails until \
                     their hashes are upgraded"
                );
            }
            return;
        }
        kinds.push(Arc::new(InUse {
            dummy: kind.dummy(),
            kind: kind.clone(),
        }));
    }

    /// The kinds in use now.
    pub(super) fn snapshot(&self) -> Vec<Arc<InUse>> {
        self.kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many kinds are in use.
    pub(super) fn len(&self) -> usize {
        self.kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bcrypt(cost: u32) -> HashKind {
        HashKind::Bcrypt { cost }
    }

    #[test]
    fn keeps_each_kind_once_and_at_most_max() {
        let kinds = KindsInUse::new([bcrypt(4), bcrypt(4)]);
        assert_eq!(kinds.len(), 1);
        for cost in 5..20 {
            kinds.observe(&bcrypt(cost));
        }
        assert_eq!(kinds.len(), MAX_KINDS);
        let kept: Vec<HashKind> = kinds.snapshot().iter().map(|k| k.kind.clone()).collect();
        assert_eq!(kept, [bcrypt(4), bcrypt(5), bcrypt(6), bcrypt(7)]);
    }
}
