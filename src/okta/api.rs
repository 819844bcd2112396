//! The narrow interface every Okta backend implements: the HTTP client (real Okta or the emulator
//! over HTTP) and the emulator's in-memory state (fast tests). Reads return every page.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::OktaError;
use super::model::{Group, GroupProfile, LogEvent, User, UserSchema};

/// Parameters of `GET /api/v1/groups`. All `None` lists every group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupQuery {
    /// Okta `search` expression, e.g. `profile.name eq "department_sales"` (paginated, eventually consistent).
    pub search: Option<String>,
    /// Okta `filter` expression on `id`, `type`, `lastUpdated`, `lastMembershipUpdated`.
    pub filter: Option<String>,
    /// Starts-with on the name; not paginated.
    pub q: Option<String>,
    /// `expand=stats`: fills `_embedded.stats.usersCount`.
    pub expand_stats: bool,
    /// Page size; `None` = Okta's default.
    pub limit: Option<u32>,
}

/// Parameters of `GET /api/v1/logs` (bounded query: since + until).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub filter: Option<String>,
    pub limit: Option<u32>,
}

/// Everything dyngroups asks of Okta. Implementations follow every `next` link before returning.
#[async_trait]
pub trait OktaApi: Send + Sync {
    /// Users matching an Okta `search` expression; `None` is the plain list (which omits DEPROVISIONED users).
    async fn list_users(&self, search: Option<&str>) -> Result<Vec<User>, OktaError>;
    async fn list_groups(&self, query: &GroupQuery) -> Result<Vec<Group>, OktaError>;
    async fn get_group(&self, group_id: &str) -> Result<Group, OktaError>;
    /// Every member of a group (Okta includes non-ACTIVE members).
    async fn list_group_members(&self, group_id: &str) -> Result<Vec<User>, OktaError>;
    /// [`OktaApi::list_users`], handing each user to `each` as its page arrives: a large org never sits in
    /// memory as full user objects (a million of them are gigabytes). Same calls as `list_users`.
    async fn list_users_each(
        &self,
        search: Option<&str>,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        self.list_users(search).await?.into_iter().for_each(each);
        Ok(())
    }
    /// [`OktaApi::list_group_members`], page by page, as `list_users_each`.
    async fn list_group_members_each(
        &self,
        group_id: &str,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        self.list_group_members(group_id)
            .await?
            .into_iter()
            .for_each(each);
        Ok(())
    }
    /// Always creates an `OKTA_GROUP`; a taken name is refused with 400 E0000001.
    async fn create_group(&self, profile: &GroupProfile) -> Result<Group, OktaError>;
    async fn update_group(
        &self,
        group_id: &str,
        profile: &GroupProfile,
    ) -> Result<Group, OktaError>;
    async fn delete_group(&self, group_id: &str) -> Result<(), OktaError>;
    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError>;
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError>;
    async fn user_schema(&self) -> Result<UserSchema, OktaError>;
    async fn list_logs(&self, query: &LogQuery) -> Result<Vec<LogEvent>, OktaError>;
}
