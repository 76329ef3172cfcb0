//! [`WriteClient`]: the mutating SCIM calls `apply` makes, plus a [`ReadClient`] view that
//! shares its pacing and stats. Built separately from a `ReadClient`, so `plan` and `drift`,
//! which only ever build a `ReadClient`, cannot write.

use std::sync::Arc;

use serde_json::Value;

use super::config::ClientConfig;
use super::error::ClientError;
use super::read::{ReadClient, id_path, parse_resource};
use super::resource::Resource;
use super::transport::{WriteMethod, Writer};
use crate::http::{Method, Stats, Usage};

/// Read and write access to a SCIM server. Cheap to clone; clones share pacing and stats.
#[derive(Clone)]
pub struct WriteClient {
    writer: Writer,
    read: ReadClient,
}

impl WriteClient {
    /// A client for `config`'s server. Fails on an invalid configuration; does not connect.
    pub fn new(config: &ClientConfig) -> Result<WriteClient, ClientError> {
        let writer = Writer::connect(config)?;
        let read = ReadClient::from_reader(writer.reader(), config.page_size);
        Ok(WriteClient { writer, read })
    }

    /// A read-only view sharing this client's connection pool, pacing and stats.
    pub fn reader(&self) -> ReadClient {
        self.read.clone()
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.read.stats()
    }

    /// The per-minute budget and what was used of it.
    pub fn usage(&self) -> Usage {
        self.read.usage()
    }

    /// `POST /Users`; the created user (with its id).
    pub async fn create_user(&self, user: &Value) -> Result<Resource, ClientError> {
        self.create("Users", user).await
    }

    /// `PUT /Users/{id}`; the user as stored.
    pub async fn replace_user(
        &self,
        id: &str,
        user: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ClientError> {
        let path = self.path("Users", id, Method::Put)?;
        let response = self
            .writer
            .send(WriteMethod::Put, &path, Some(user), if_match)
            .await?;
        parse_resource(&response)
    }

    /// `PATCH /Users/{id}` with a `PatchOp` body; the user when the server returns it (200),
    /// `None` for 204.
    pub async fn patch_user(
        &self,
        id: &str,
        patch: &Value,
        if_match: Option<&str>,
    ) -> Result<Option<Resource>, ClientError> {
        self.patch("Users", id, patch, if_match).await
    }

    /// `DELETE /Users/{id}` (Asana deprovisions, "zombifies", the user). `false` if there was
    /// no such user (404).
    pub async fn delete_user(&self, id: &str, if_match: Option<&str>) -> Result<bool, ClientError> {
        let path = self.path("Users", id, Method::Delete)?;
        match self
            .writer
            .send(WriteMethod::Delete, &path, None, if_match)
            .await
        {
            Ok(_) => Ok(true),
            Err(ClientError::Scim(e)) if e.status == 404 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `POST /Groups`; the created group (with its id).
    pub async fn create_group(&self, group: &Value) -> Result<Resource, ClientError> {
        self.create("Groups", group).await
    }

    /// `PUT /Groups/{id}`; the group as stored (for servers without PATCH).
    pub async fn replace_group(
        &self,
        id: &str,
        group: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ClientError> {
        let path = self.path("Groups", id, Method::Put)?;
        let response = self
            .writer
            .send(WriteMethod::Put, &path, Some(group), if_match)
            .await?;
        parse_resource(&response)
    }

    /// `PATCH /Groups/{id}`; the group when the server returns it, `None` for 204 (Asana's
    /// documented answer).
    pub async fn patch_group(
        &self,
        id: &str,
        patch: &Value,
        if_match: Option<&str>,
    ) -> Result<Option<Resource>, ClientError> {
        self.patch("Groups", id, patch, if_match).await
    }

    fn path(&self, kind: &str, id: &str, method: Method) -> Result<String, ClientError> {
        id_path(kind, id, method, || self.writer.reader().shown_url(kind))
    }

    async fn create(&self, kind: &str, body: &Value) -> Result<Resource, ClientError> {
        let response = self
            .writer
            .send(WriteMethod::Post, kind, Some(body), None)
            .await?;
        let created = parse_resource(&response)?;
        if created.id().is_none() {
            return Err(response.invalid(
                "the server answered the create without an id; run plan to see whether it was created",
            ));
        }
        Ok(created)
    }

    async fn patch(
        &self,
        kind: &str,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Option<Resource>, ClientError> {
        let path = self.path(kind, id, Method::Patch)?;
        let response = self
            .writer
            .send(WriteMethod::Patch, &path, Some(body), if_match)
            .await?;
        if response.status == 204 || response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_resource(&response).map(Some)
    }
}
