//! Finds the line and column of a key or value in a YAML text, given its path. serde_yaml has no position API,
//! but it stamps the position of the node being read onto any error raised while reading it; so we walk the
//! document down the path with a seed that fails on purpose at the target and read the error's location.
//! Exact for block and flow style, anchors included; one parse per lookup (files are capped at 1 MiB).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// The value under this key of a mapping.
    Key(String),
    /// The n-th item of a sequence (0-based).
    Index(usize),
    /// The n-th entry of a mapping, by position (for keys that are not text).
    KeyOf(usize),
}

const MARKER: &str = "\u{1}dyngroups-locate\u{1}";

/// 1-based (line, column) of the node at `path` (of its key when `key` is true). Falls back to the nearest
/// ancestor that can be found, then to the start of the file.
pub fn locate(text: &str, path: &[Seg], key: bool) -> (usize, usize) {
    if let Some(at) = locate_exact(text, path, key) {
        return at;
    }
    for n in (0..path.len()).rev() {
        if let Some(at) = locate_exact(text, &path[..n], false) {
            return at;
        }
    }
    (1, 1)
}

fn locate_exact(text: &str, path: &[Seg], key: bool) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Seek { path, key }).deserialize(de) {
        Ok(()) => None,
        Err(e) if e.to_string().contains(MARKER) => e.location().map(|l| (l.line(), l.column())),
        Err(_) => None,
    }
}

struct Seek<'p> {
    path: &'p [Seg],
    key: bool,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.path.is_empty() {
            d.deserialize_any(Here)
        } else {
            d.deserialize_any(Walk {
                path: self.path,
                key: self.key,
            })
        }
    }
}

/// Fails on whatever node it is given: the failure carries that node's position.
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MARKER)
    }
}

struct Walk<'p> {
    path: &'p [Seg],
    key: bool,
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (first, rest) = match self.path.split_first() {
            Some(x) => x,
            None => return Ok(()),
        };
        let stop_at_key = self.key && rest.is_empty();
        let mut index = 0;
        while let Some(found) = map.next_key_seed(KeySeed {
            target: first,
            index,
            stop: stop_at_key,
        })? {
            if found {
                return map.next_value_seed(Seek {
                    path: rest,
                    key: self.key,
                });
            }
            map.next_value::<IgnoredAny>()?;
            index += 1;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (first, rest) = match self.path.split_first() {
            Some(x) => x,
            None => return Ok(()),
        };
        let Seg::Index(target) = first else {
            return Ok(());
        };
        let mut i = 0;
        loop {
            if i == *target {
                seq.next_element_seed(Seek {
                    path: rest,
                    key: self.key,
                })?;
                return Ok(());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

struct KeySeed<'p> {
    target: &'p Seg,
    index: usize,
    stop: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(KeyVisitor { seed: self })
    }
}

struct KeyVisitor<'p> {
    seed: KeySeed<'p>,
}

impl KeyVisitor<'_> {
    fn decide<E: de::Error>(&self, text: Option<&str>) -> Result<bool, E> {
        let matched = match self.seed.target {
            Seg::Key(k) => text == Some(k.as_str()),
            Seg::KeyOf(n) => *n == self.seed.index,
            Seg::Index(_) => false,
        };
        if matched && self.seed.stop {
            Err(E::custom(MARKER))
        } else {
            Ok(matched)
        }
    }
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.decide(Some(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        self.decide(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.decide(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.decide(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Seg {
        Seg::Key(s.to_string())
    }

    #[test]
    fn finds_keys_values_and_items_in_block_and_flow_style() {
        let text = "okta:\n  domain: a.okta.com\npolicies: {membership: enforce, collision: skip}\nrules:\n  - attribute: profile.city\n    prefix: location\n";
        assert_eq!(locate(text, &[k("okta"), k("domain")], true), (2, 3));
        assert_eq!(locate(text, &[k("okta"), k("domain")], false), (2, 11));
        assert_eq!(
            locate(text, &[k("policies"), k("collision")], true),
            (3, 33)
        );
        assert_eq!(locate(text, &[k("rules"), Seg::Index(0)], false), (5, 5));
        assert_eq!(
            locate(text, &[k("rules"), Seg::Index(0), k("prefix")], true),
            (6, 5)
        );
        // Not there: the nearest ancestor.
        assert_eq!(
            locate(text, &[k("rules"), Seg::Index(0), k("nope")], true),
            (5, 5)
        );
        assert_eq!(locate(text, &[k("zzz")], true), (1, 1));
    }

    #[test]
    fn non_text_keys_by_position() {
        let text = "a: 1\n12: x\n";
        assert_eq!(locate(text, &[Seg::KeyOf(1)], true), (2, 1));
    }
}
