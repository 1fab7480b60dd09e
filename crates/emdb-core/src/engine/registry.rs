//! Namespace names and ids: binding a name (durably logged), finding one, dropping one,
//! listing them.
//!
//! Ids grow and are never reused: 0 is the default namespace and `u32::MAX` is reserved,
//! so the last id handed out is `u32::MAX - 1` (the rules replay checks are in
//! [`super::replay`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::record::{self, Record};
use super::{Inner, Space};
use crate::error::{Error, Result};

/// Names of the bound namespaces, by id (ids grow, so id order is creation order).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(super) names: BTreeMap<u32, String>,
    pub(super) next_id: u32,
}

impl Registry {
    /// The id bound to `name`.
    fn find(&self, name: &str) -> Option<u32> {
        self.names.iter().find(|(_, n)| n.as_str() == name).map(|(&id, _)| id)
    }
}

impl Inner {
    /// The id of namespace `name`, binding a new one (durably logged) if needed.
    pub(crate) fn namespace_id(&self, name: &str) -> Result<u32> {
        if name.is_empty() {
            return Err(Error::InvalidConfig(
                "the empty name is the default namespace; use the database handle",
            ));
        }
        let mut registry = self.registry.lock();
        if let Some(id) = registry.find(name) {
            return Ok(id);
        }
        // Ids grow and are never reused: 0 is the default namespace and u32::MAX is
        // reserved, so the last id handed out is u32::MAX - 1.
        let id = registry.next_id.max(1);
        let next = id
            .checked_add(1)
            .filter(|_| id != u32::MAX)
            .ok_or(Error::InvalidConfig(
                "namespace ids are exhausted: no more namespaces can be created in this database",
            ))?;
        // Taken before the append: an id whose bind was written (even if the append then
        // failed) is never handed out again.
        registry.next_id = next;
        let mut rec = Vec::new();
        record::bind(&mut rec, id, name.as_bytes());
        let st = self.state.load();
        st.codec.append(&st.journal, &rec)?;
        st.spaces.write().insert(id, Arc::new(Space::new(id, self.range_scans)));
        registry.names.insert(id, name.to_owned());
        Ok(id)
    }

    /// The id of an existing namespace.
    pub(crate) fn existing_namespace(&self, name: &str) -> Option<u32> {
        self.registry.lock().find(name)
    }

    /// Drops namespace `name`: one batch frame clears it and unbinds it.
    pub(crate) fn drop_namespace(&self, name: &str) -> Result<bool> {
        let Some(id) = self.existing_namespace(name) else {
            return Ok(false);
        };
        self.apply_batch(&[Record::Clear { ns: id }, Record::Bind { ns: id, name: b"" }])?;
        Ok(true)
    }

    /// "" first, then the named namespaces in creation order.
    pub(crate) fn list_namespaces(&self) -> Vec<String> {
        let registry = self.registry.lock();
        std::iter::once(String::new())
            .chain(registry.names.values().cloned())
            .collect()
    }
}
