//! Every key the YAML schema accepts has a row in docs/configuration.md.
//!
//! The key paths come from the schema itself: [`Config`]'s `Deserialize`
//! impl is driven by a recording deserializer ([`Recorder`]) that notes,
//! for every struct serde asks it for, the field names serde's derive
//! passes (`deserialize_struct(name, FIELDS, ..)`: the YAML spellings,
//! renames such as `match` included). A new field anywhere in the schema,
//! however deep, is a new path here, and the test fails until the
//! reference documents it.
//!
//! Why not `serde-reflection`: its tracer cannot walk `deserialize_any`
//! (it stops the whole trace with "Not supported"), and two field types
//! of a service need it: `netmask` (a mask or a prefix length) and
//! `proxy_protocol` (an untagged word, number or `false`). Those are the
//! YAML shape of `services[]` (`RawService`, private to the crate and
//! reached only through `ServiceConf`'s `try_from`), so the tracer would
//! see no service key at all. The recorder treats any value it cannot
//! walk into as a leaf, and walks one path per run (see [`key_paths`]), so
//! a value that refuses it stops only that run, never a sibling's.

use rvs_conf::Config;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The convention of docs/configuration.md: a dotted path from the top of
/// the file, `[]` after a list key for "each element of the list".
fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Stop(msg.to_string())
    }
}

/// What one run saw: each struct met, by the fields chosen to reach it
/// (the next run's target), with its dotted path and its field names.
type Seen = BTreeMap<Vec<&'static str>, (String, &'static [&'static str])>;

/// Stands where a value of the YAML file would be. At a struct it records
/// the fields and offers only the next field of its target (so each run
/// goes down one path); in a list it offers one element; an optional
/// value is present. Anything else is a leaf: refused, which ends the run
/// (its parents were recorded on the way down).
struct Recorder<'a> {
    seen: &'a RefCell<Seen>,
    /// Fields chosen from the top to here.
    chosen: Vec<&'static str>,
    /// The dotted path of this value (`services[].dests[]`).
    path: String,
    /// Fields still to go down.
    target: &'a [&'static str],
}

impl<'a> Recorder<'a> {
    fn leaf(&self) -> Stop {
        Stop(format!("{} is a leaf", self.path))
    }
}

impl<'de> Deserializer<'de> for Recorder<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(self.leaf())
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.seen.borrow_mut().insert(self.chosen.clone(), (self.path.clone(), fields));
        let Some((&field, rest)) = self.target.split_first() else {
            return visitor.visit_map(OneField { field: None, value: None });
        };
        let mut chosen = self.chosen;
        chosen.push(field);
        let value = Recorder { seen: self.seen, chosen, path: join(&self.path, field), target: rest };
        visitor.visit_map(OneField { field: Some(field), value: Some(value) })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        let path = format!("{}[]", self.path);
        visitor.visit_seq(OneElement(Some(Recorder { path, ..self })))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        // A map-typed key (or `#[serde(flatten)]`) has keys the schema does
        // not list: the reference would need a convention for them.
        panic!("{} is a map: teach docs_coverage how its keys are named", self.path)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// A map of at most one entry: the field a run goes down.
struct OneField<'a> {
    field: Option<&'static str>,
    value: Option<Recorder<'a>>,
}

impl<'de> MapAccess<'de> for OneField<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Stop> {
        match self.field.take() {
            Some(f) => seed.deserialize(f.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
        seed.deserialize(self.value.take().expect("a value follows its key"))
    }
}

/// A list of one element.
struct OneElement<'a>(Option<Recorder<'a>>);

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Stop> {
        self.0.take().map(|r| seed.deserialize(r)).transpose()
    }
}

/// Every key path of `T`'s YAML: run `T::deserialize` once per struct
/// found, each run going down to one more struct, until no run finds a
/// new one. The result of each run (a value or a refusal) is ignored:
/// only what it recorded counts.
fn key_paths<T: for<'de> Deserialize<'de>>() -> BTreeSet<String> {
    let seen = RefCell::new(Seen::new());
    let mut done = BTreeSet::new();
    let mut todo: Vec<Vec<&'static str>> = vec![Vec::new()];
    while let Some(target) = todo.pop() {
        if !done.insert(target.clone()) {
            continue;
        }
        let r = Recorder { seen: &seen, chosen: Vec::new(), path: String::new(), target: &target };
        let _ = T::deserialize(r);
        for (chosen, (_, fields)) in seen.borrow().iter() {
            for f in fields.iter() {
                let mut t = chosen.clone();
                t.push(*f);
                if !done.contains(&t) {
                    todo.push(t);
                }
            }
        }
    }
    let seen = seen.into_inner();
    seen.values().flat_map(|(path, fields)| fields.iter().map(move |f| join(path, f))).collect()
}

#[test]
fn the_walk_reaches_every_kind_of_key() {
    let keys = key_paths::<Config>();
    // Through a plain struct, an optional section, a list of `try_from`
    // structs (the service's private YAML shape), a rename and two levels
    // of lists: if the walker lost any of these, the coverage check below
    // would pass for the wrong reason.
    for k in [
        "dpdk.mbufs",
        "metrics.listen",
        "interfaces[].mtu",
        "services[].match",
        "services[].match[].ports",
        "services[].netmask",
        "services[].proxy_protocol",
        "services[].dests[].weight",
        "services[].dests[].tun_port",
        "routes[].via",
    ] {
        assert!(keys.contains(k), "{k} not found; the walk found {keys:#?}");
    }
    assert!(keys.len() >= 60, "only {} keys: {keys:#?}", keys.len());
    assert!(!keys.iter().any(|k| k.contains("key") || k.contains("sched_flags.")), "model names leaked: {keys:#?}");
}

#[test]
fn every_schema_key_has_a_row_in_the_configuration_reference() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // A row of a reference table: `| `key.path` | type | default | ...`.
    let rows: BTreeSet<&str> =
        doc.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split_once("` |").map(|(k, _)| k)).collect();
    let missing: Vec<String> = key_paths::<Config>().into_iter().filter(|k| !rows.contains(k.as_str())).collect();
    assert!(missing.is_empty(), "keys of the schema with no row in docs/configuration.md: {missing:#?}");
}
