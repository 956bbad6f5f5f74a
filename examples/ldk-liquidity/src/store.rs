//! LDK's key-value store (`KVStoreSync`) in memory: what `LiquidityManager` persists through
//! (its event queue, LSPS2 and LSPS5 service state). A real node gives it a disk or database
//! store (e.g. `lightning-persister`'s `FilesystemStore`); the example never restarts a process,
//! but a second `LiquidityManager` built on the same store reads back what the first persisted
//! (the test `liquidity_state_survives_a_restart_through_the_store`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use lightning::io;
use lightning::util::persist::{
    KVStoreSync, KVSTORE_NAMESPACE_KEY_ALPHABET, KVSTORE_NAMESPACE_KEY_MAX_LEN,
};

/// (primary namespace, secondary namespace, key).
type Address = (String, String, String);

/// An in-memory [`KVStoreSync`] that checks names as LDK's trait documentation asks.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<Address, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Address, Vec<u8>>> {
        // Every operation leaves the map consistent, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// LDK's naming rules: names of at most `KVSTORE_NAMESPACE_KEY_MAX_LEN` characters from
/// `KVSTORE_NAMESPACE_KEY_ALPHABET`; a key is not empty; a secondary namespace needs a primary
/// one. A violation is the caller's bug, reported as `InvalidInput` (nothing is stored).
fn address(primary: &str, secondary: &str, key: Option<&str>) -> Result<Address, io::Error> {
    let valid = |s: &str| {
        s.len() <= KVSTORE_NAMESPACE_KEY_MAX_LEN
            && s.chars()
                .all(|c| KVSTORE_NAMESPACE_KEY_ALPHABET.contains(c))
    };
    let key_ok = key.is_none_or(|k| !k.is_empty() && valid(k));
    if !(valid(primary) && valid(secondary) && key_ok)
        || (primary.is_empty() && !secondary.is_empty())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid KVStore namespace or key",
        ));
    }
    Ok((
        primary.to_string(),
        secondary.to_string(),
        key.unwrap_or_default().to_string(),
    ))
}

impl KVStoreSync for MemoryStore {
    fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
        let at = address(primary, secondary, Some(key))?;
        self.lock()
            .get(&at)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such key"))
    }

    fn write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> Result<(), io::Error> {
        let at = address(primary, secondary, Some(key))?;
        self.lock().insert(at, buf);
        Ok(())
    }

    fn remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        _lazy: bool,
    ) -> Result<(), io::Error> {
        // Removing at once is always allowed (lazy only permits later removal).
        let at = address(primary, secondary, Some(key))?;
        self.lock().remove(&at);
        Ok(())
    }

    fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
        let (p, s, _) = address(primary, secondary, None)?;
        Ok(self
            .lock()
            .keys()
            .filter(|(kp, ks, _)| *kp == p && *ks == s)
            .map(|(_, _, k)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written_per_namespace() {
        let s = MemoryStore::new();
        s.write("a", "b", "k", vec![1]).unwrap();
        s.write("a", "", "k", vec![2]).unwrap();
        assert_eq!(s.read("a", "b", "k").unwrap(), vec![1]);
        assert_eq!(s.read("a", "", "k").unwrap(), vec![2]);
        assert_eq!(
            s.read("a", "c", "k").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        s.write("a", "b", "k", vec![3]).unwrap();
        assert_eq!(s.read("a", "b", "k").unwrap(), vec![3], "a write replaces");
        assert_eq!(s.list("a", "b").unwrap(), vec!["k".to_string()]);
        assert!(s.list("zz", "").unwrap().is_empty());
        s.remove("a", "b", "k", true).unwrap();
        s.remove("a", "b", "k", false).unwrap();
        assert_eq!(
            s.read("a", "b", "k").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn invalid_names_are_refused_and_store_nothing() {
        let s = MemoryStore::new();
        let long = "x".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN + 1);
        for (p, sec, k) in [
            ("", "b", "k"),
            ("a", "b", ""),
            ("a/b", "", "k"),
            ("a", "", long.as_str()),
        ] {
            let e = s.write(p, sec, k, vec![1]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{p:?} {sec:?} {k:?}");
        }
        assert!(s.is_empty());
    }
}
