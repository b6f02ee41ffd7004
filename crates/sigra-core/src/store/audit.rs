use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};

/// Whether the audited attempt succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// It worked.
    Success,
    /// It was refused.
    Failure,
}

impl AuditOutcome {
    /// The stable string stored in the `outcome` column.
    ///
    /// ```
    /// assert_eq!(sigra_core::store::AuditOutcome::Failure.as_str(), "failure");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// Parses the stored string.
    ///
    /// ```
    /// use sigra_core::store::AuditOutcome;
    /// assert_eq!(AuditOutcome::parse("success"), Some(AuditOutcome::Success));
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// One audit row. Built by sigra-core's flows (see [`crate::audit`]); stores only insert and
/// read them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened.
    pub occurred_at: OffsetDateTime,
    /// The action, from the documented vocabulary (e.g. `auth.login.failure`).
    pub action: String,
    /// Success or failure.
    pub outcome: AuditOutcome,
    /// Who did it (`None` for anonymous callers).
    pub actor_id: Option<Id>,
    /// The user the action was about, if any.
    pub target_id: Option<Id>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent (truncated).
    pub user_agent: Option<String>,
    /// Extra detail as a JSON object, at most 8 KiB serialised; never secrets.
    pub metadata: serde_json::Value,
}

impl AuditEvent {
    /// Builds an event (flows use [`crate::audit`] helpers instead).
    ///
    /// ```
    /// use sigra_core::store::{AuditEvent, AuditOutcome};
    /// let e = AuditEvent::new("auth.login", AuditOutcome::Success, time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!(e.action, "auth.login");
    /// ```
    pub fn new(action: impl Into<String>, outcome: AuditOutcome, at: OffsetDateTime) -> Self {
        Self {
            occurred_at: at,
            action: action.into(),
            outcome,
            actor_id: None,
            target_id: None,
            ip: None,
            user_agent: None,
            metadata: serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

/// Operations on the audit events table.
///
/// Contract: `insert_audit_event` writes in the caller's transaction, so the event commits or
/// rolls back with the change it records. `audit_events_for_user` returns events whose actor
/// or target is the user, newest first, at most `limit`.
pub trait AuditStore {
    /// Inserts one event.
    fn insert_audit_event(
        &mut self,
        event: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's most recent events.
    fn audit_events_for_user(
        &mut self,
        user_id: &Id,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}
