//! [`NameMap`]: the shell's tables by name (variables, exported names, functions).
//!
//! Ordered by name like a `BTreeMap`, which they were, but with a small fraction of its code in
//! the binary: the names are one sorted vector, searched by one non-generic function whatever
//! the values are, and the values a vector beside it. The tables hold tens of entries, where
//! shifting a vector on insert costs nothing worth counting.

/// A map from names to `V`, iterated in name order.
#[derive(Clone, Debug)]
pub struct NameMap<V> {
    names: Vec<String>,
    values: Vec<V>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap::new()
    }
}

/// Where `name` is in `names` (sorted), or where it would go.
fn find(names: &[String], name: &str) -> Result<usize, usize> {
    names.binary_search_by(|n| n.as_str().cmp(name))
}

impl<V> NameMap<V> {
    pub const fn new() -> Self {
        NameMap {
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        find(&self.names, name).ok().map(|i| &self.values[i])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        find(&self.names, name).is_ok()
    }

    /// Sets `name` to `value`; the value it had.
    pub fn insert(&mut self, name: &str, value: V) -> Option<V> {
        match find(&self.names, name) {
            Ok(i) => Some(std::mem::replace(&mut self.values[i], value)),
            Err(i) => {
                self.names.insert(i, name.to_string());
                self.values.insert(i, value);
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<V> {
        let i = find(&self.names, name).ok()?;
        self.names.remove(i);
        Some(self.values.remove(i))
    }

    /// The names, in order.
    pub fn keys(&self) -> std::slice::Iter<'_, String> {
        self.names.iter()
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.names.iter().zip(self.values.iter())
    }

    /// The entries, in name order.
    pub fn into_vec(self) -> Vec<(String, V)> {
        self.names.into_iter().zip(self.values).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::NameMap;

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut m = NameMap::new();
        assert_eq!(m.insert("PATH", 1), None);
        assert_eq!(m.insert("HOME", 2), None);
        assert_eq!(m.insert("A", 3), None);
        assert_eq!(m.insert("HOME", 4), Some(2));
        assert_eq!(m.get("HOME"), Some(&4));
        assert_eq!(m.get("HOM"), None);
        assert!(m.contains_key("A") && !m.contains_key("B"));
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys, ["A", "HOME", "PATH"]);
        assert_eq!(m.remove("A"), Some(3));
        assert_eq!(m.remove("A"), None);
        let all: Vec<(&String, &i32)> = m.iter().collect();
        assert_eq!(all, [(&"HOME".to_string(), &4), (&"PATH".to_string(), &1)]);
        assert_eq!(
            m.into_vec(),
            [("HOME".to_string(), 4), ("PATH".to_string(), 1)]
        );
    }
}
