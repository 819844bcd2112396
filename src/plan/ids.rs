//! `IdList`: many short ids (Okta user ids) packed into one buffer. A million-user plan holds millions of
//! ids in its membership actions and recorded state; as `String`s each costs ~56 bytes (24 inline and a
//! 32-byte heap block), packed it costs its bytes and one offset. Serialized as a plain list of strings.

use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered list of ids in one buffer. Lists the planner builds are sorted by id (so `contains` can
/// binary-search); `from_iter` keeps whatever order it is given.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct IdList {
    buf: String,
    /// End of each id in `buf`.
    ends: Vec<usize>,
}

impl IdList {
    pub fn new() -> IdList {
        IdList::default()
    }

    /// Room for `ids` ids of `bytes` bytes in total.
    pub fn with_capacity(ids: usize, bytes: usize) -> IdList {
        IdList {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(ids),
        }
    }

    pub fn push(&mut self, id: &str) {
        self.buf.push_str(id);
        self.ends.push(self.buf.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.buf[start..end])
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Whether the list is in strictly increasing order (what `contains` needs).
    pub fn is_sorted(&self) -> bool {
        (1..self.len()).all(|i| self.get(i - 1) < self.get(i))
    }

    /// Binary search; the list must be sorted (lists the planner and the store build are; debug builds,
    /// hence every test, check it).
    pub fn contains(&self, id: &str) -> bool {
        debug_assert!(self.is_sorted(), "IdList::contains on an unsorted list");
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).unwrap_or_default().cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Sorts in place (and removes duplicates) when the list is not already strictly sorted.
    pub fn sort(&mut self) {
        if !self.is_sorted() {
            *self = self.sorted();
        }
    }

    /// Sorts and removes duplicates.
    pub fn sorted(&self) -> IdList {
        let mut v: Vec<&str> = self.iter().collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter().collect()
    }
}

pub struct Iter<'a> {
    list: &'a IdList,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.front >= self.back {
            return None;
        }
        self.front += 1;
        self.list.get(self.front - 1)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a IdList {
    type Item = &'a str;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for IdList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> IdList {
        let mut out = IdList::new();
        for s in iter {
            out.push(s.as_ref());
        }
        out
    }
}

impl<S: AsRef<str>> Extend<S> for IdList {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        for s in iter {
            self.push(s.as_ref());
        }
    }
}

impl fmt::Debug for IdList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for IdList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for IdList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of id strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IdList, A::Error> {
                let mut out = IdList::with_capacity(seq.size_hint().unwrap_or(0), 0);
                while let Some(s) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                    out.push(&s);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_iterates_and_searches() {
        let l: IdList = ["00u1", "00u22", "", "00u3"].into_iter().collect();
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(1), Some("00u22"));
        assert_eq!(l.get(2), Some(""));
        assert_eq!(l.get(4), None);
        assert_eq!(
            l.iter().rev().collect::<Vec<_>>(),
            ["00u3", "", "00u22", "00u1"]
        );
        assert!(!l.is_sorted());
        let s = l.sorted();
        assert!(s.is_sorted());
        let mut in_place = l.clone();
        in_place.sort();
        assert_eq!(in_place, s);
        for id in ["", "00u1", "00u22", "00u3"] {
            assert!(s.contains(id), "{id}");
        }
        assert!(!s.contains("00u2") && !s.contains("00u4"));
        assert!(!IdList::new().contains(""));
    }

    #[test]
    fn round_trips_as_a_json_list() {
        let l: IdList = ["a\"b", "ü", "00u9"].into_iter().collect();
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, r#"["a\"b","ü","00u9"]"#);
        let back: IdList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        assert!(serde_json::from_str::<IdList>("[1]").is_err());
        assert!(serde_json::from_str::<IdList>(r#""00u1""#).is_err());
    }
}
