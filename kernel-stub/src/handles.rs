//! A process's handle table (ABI §2.2): a growable vector of slots, each empty or naming a kernel
//! object; a new handle takes the lowest empty slot, so numbers are reused.

/// The table, generic over what a slot names (the stub's object ids; plain values in tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleTable<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        HandleTable { slots: Vec::new() }
    }
}

impl<T: Copy> HandleTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `obj` in the lowest empty slot and returns its number.
    pub fn insert(&mut self, obj: T) -> u64 {
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(obj);
                i as u64
            }
            None => {
                self.slots.push(Some(obj));
                (self.slots.len() - 1) as u64
            }
        }
    }

    /// What handle `n` names, if the slot exists and is full.
    pub fn get(&self, n: u64) -> Option<T> {
        usize::try_from(n)
            .ok()
            .and_then(|i| self.slots.get(i))
            .copied()
            .flatten()
    }

    /// Empties slot `n` and returns what it named.
    pub fn take(&mut self, n: u64) -> Option<T> {
        usize::try_from(n)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::take)
    }

    /// Every object named, slot by slot (for dropping a dead process's references).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.slots.drain(..).flatten()
    }

    /// The full slots: (handle number, object).
    pub fn iter(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|o| (i as u64, o)))
    }

    /// Number of full slots.
    pub fn count(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_empty_slot_is_reused() {
        let mut t = HandleTable::new();
        assert_eq!(t.insert('a'), 0);
        assert_eq!(t.insert('b'), 1);
        assert_eq!(t.insert('c'), 2);
        assert_eq!(t.take(1), Some('b'));
        assert_eq!(t.take(1), None);
        assert_eq!(t.take(0), Some('a'));
        // Lowest first: 0, then 1, then a new slot.
        assert_eq!(t.insert('d'), 0);
        assert_eq!(t.insert('e'), 1);
        assert_eq!(t.insert('f'), 3);
        assert_eq!(t.get(1), Some('e'));
        assert_eq!(t.get(4), None);
        assert_eq!(t.get(u64::MAX), None);
        assert_eq!(t.count(), 4);
        assert_eq!(t.drain().collect::<String>(), "decf");
        assert_eq!(t.count(), 0);
    }
}
