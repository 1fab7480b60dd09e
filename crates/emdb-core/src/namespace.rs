//! `Namespace`: a handle scoped to one named namespace.

use std::ops::RangeBounds;
use std::sync::Arc;

use crate::engine::Inner;
use crate::engine::Scope;
use crate::error::Result;
use crate::iter::{NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, TryIter};
use crate::methods::scope_methods;
#[cfg(feature = "ttl")]
use crate::options::Ttl;
use crate::value::ValueRef;

/// A handle on one named namespace: the same key-value API as [`crate::Emdb`], scoped.
/// Cheap to clone. File-wide operations (flush, checkpoint, compaction, statistics,
/// transactions) live on `Emdb`. A handle whose namespace was dropped fails with
/// `InvalidConfig`.
#[derive(Clone, Debug)]
pub struct Namespace {
    scope: Scope,
    name: String,
}

impl Namespace {
    pub(crate) fn new(inner: Arc<Inner>, ns: u32, name: String) -> Namespace {
        Namespace {
            scope: Scope { inner, ns },
            name,
        }
    }

    /// The namespace's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    scope_methods!(kv, Namespace);

    scope_methods!(
        iteration,
        Namespace,
        NamespaceIter,
        NamespaceKeyIter,
        NamespaceRangeIter
    );
}

#[cfg(feature = "ttl")]
impl Namespace {
    scope_methods!(ttl, Namespace);
}
