//! An `OktaApi` wrapper that counts the requests one run makes (reads and writes), whatever the backend.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::okta::api::{GroupQuery, LogQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile, LogEvent, User, UserSchema};
use crate::store::ApiCalls;

pub struct Counting<'a> {
    inner: &'a dyn OktaApi,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl<'a> Counting<'a> {
    pub fn new(inner: &'a dyn OktaApi) -> Counting<'a> {
        Counting {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    pub fn calls(&self) -> ApiCalls {
        ApiCalls {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl OktaApi for Counting<'_> {
    async fn list_users(&self, search: Option<&str>) -> Result<Vec<User>, OktaError> {
        self.read();
        self.inner.list_users(search).await
    }
    async fn list_groups(&self, query: &GroupQuery) -> Result<Vec<Group>, OktaError> {
        self.read();
        self.inner.list_groups(query).await
    }
    async fn get_group(&self, group_id: &str) -> Result<Group, OktaError> {
        self.read();
        self.inner.get_group(group_id).await
    }
    async fn list_group_members(&self, group_id: &str) -> Result<Vec<User>, OktaError> {
        self.read();
        self.inner.list_group_members(group_id).await
    }
    async fn list_users_each(
        &self,
        search: Option<&str>,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        self.read();
        self.inner.list_users_each(search, each).await
    }
    async fn list_group_members_each(
        &self,
        group_id: &str,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        self.read();
        self.inner.list_group_members_each(group_id, each).await
    }
    async fn create_group(&self, profile: &GroupProfile) -> Result<Group, OktaError> {
        self.write();
        self.inner.create_group(profile).await
    }
    async fn update_group(
        &self,
        group_id: &str,
        profile: &GroupProfile,
    ) -> Result<Group, OktaError> {
        self.write();
        self.inner.update_group(group_id, profile).await
    }
    async fn delete_group(&self, group_id: &str) -> Result<(), OktaError> {
        self.write();
        self.inner.delete_group(group_id).await
    }
    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.write();
        self.inner.add_member(group_id, user_id).await
    }
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        // The groups-manage probe (`apply::preflight`) changes nothing: counted as the read-like check it is.
        if crate::apply::preflight::is_probe(group_id, user_id) {
            self.read();
        } else {
            self.write();
        }
        self.inner.remove_member(group_id, user_id).await
    }
    async fn user_schema(&self) -> Result<UserSchema, OktaError> {
        self.read();
        self.inner.user_schema().await
    }
    async fn list_logs(&self, query: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
        self.read();
        self.inner.list_logs(query).await
    }
}
