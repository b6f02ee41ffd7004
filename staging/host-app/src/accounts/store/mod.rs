//! TEMPORARY stand-in until the SQL store from wt-store is copied here.
#![allow(missing_docs, dead_code, clippy::unused_async)]

use sigra_core::store::*;
use sigra_core::token::TokenDigest;
use sqlx::SqlitePool;
use time::OffsetDateTime;

#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: SqlitePool,
}

impl SqlStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

pub struct SqlTx;

fn e<T>() -> Result<T, StoreError> {
    Err(StoreError::backend("stub"))
}

impl Store for SqlStore {
    type Tx = SqlTx;
    async fn begin(&self) -> Result<SqlTx, StoreError> { e() }
    async fn begin_read(&self) -> Result<SqlTx, StoreError> { e() }
}
impl Transaction for SqlTx {
    async fn commit(self) -> Result<(), StoreError> { e() }
}
impl UserStore for SqlTx {
    async fn insert_user(&mut self, _u: &NewUser) -> Result<UserRecord, StoreError> { e() }
    async fn user_by_id(&mut self, _id: &Id) -> Result<Option<UserRecord>, StoreError> { e() }
    async fn user_by_email(&mut self, _e: &str) -> Result<Option<UserRecord>, StoreError> { e() }
    async fn mark_confirmed(&mut self, _id: &Id, _at: OffsetDateTime) -> Result<(), StoreError> { e() }
    async fn set_password_hash(&mut self, _id: &Id, _h: &str, _c: Option<OffsetDateTime>) -> Result<(), StoreError> { e() }
    async fn increment_failed_logins(&mut self, _id: &Id) -> Result<u32, StoreError> { e() }
    async fn lock_user(&mut self, _id: &Id, _at: OffsetDateTime) -> Result<(), StoreError> { e() }
    async fn clear_failed_logins(&mut self, _id: &Id) -> Result<(), StoreError> { e() }
    async fn set_email(&mut self, _id: &Id, _e: &str) -> Result<(), StoreError> { e() }
}
impl SessionStore for SqlTx {
    async fn insert_session(&mut self, _s: &NewSession) -> Result<SessionRecord, StoreError> { e() }
    async fn session_by_digest(&mut self, _d: &TokenDigest) -> Result<Option<SessionRecord>, StoreError> { e() }
    async fn touch_session(&mut self, _id: &Id, _at: OffsetDateTime) -> Result<(), StoreError> { e() }
    async fn set_session_sudo(&mut self, _id: &Id, _at: OffsetDateTime) -> Result<(), StoreError> { e() }
    async fn list_user_sessions(&mut self, _u: &Id) -> Result<Vec<SessionRecord>, StoreError> { e() }
    async fn delete_user_session(&mut self, _u: &Id, _id: &Id) -> Result<bool, StoreError> { e() }
    async fn delete_session_by_digest(&mut self, _d: &TokenDigest) -> Result<bool, StoreError> { e() }
    async fn delete_user_sessions(&mut self, _u: &Id, _k: Option<&Id>) -> Result<u64, StoreError> { e() }
}
impl EmailTokenStore for SqlTx {
    async fn insert_email_token(&mut self, _t: &NewEmailToken) -> Result<(), StoreError> { e() }
    async fn take_email_token(&mut self, _c: &EmailTokenContext, _d: &TokenDigest) -> Result<Option<EmailTokenRecord>, StoreError> { e() }
    async fn find_email_token(&mut self, _c: &EmailTokenContext, _d: &TokenDigest) -> Result<Option<EmailTokenRecord>, StoreError> { e() }
    async fn delete_user_email_tokens(&mut self, _u: &Id, _c: &[EmailTokenContext]) -> Result<u64, StoreError> { e() }
}
impl AuditStore for SqlTx {
    async fn insert_audit_event(&mut self, _e: &AuditEvent) -> Result<(), StoreError> { e() }
    async fn audit_events_for_user(&mut self, _u: &Id, _l: u32) -> Result<Vec<AuditEvent>, StoreError> { e() }
}
impl RateLimitStore for SqlTx {
    async fn hit(&mut self, _k: &str, _w: OffsetDateTime) -> Result<u32, StoreError> { e() }
    async fn rate_limit_count(&mut self, _k: &str, _w: OffsetDateTime) -> Result<u32, StoreError> { e() }
    async fn prune_rate_limits(&mut self, _b: OffsetDateTime) -> Result<u64, StoreError> { e() }
}
