//! YAML → JSON tree with budgets, so a hostile file cannot take the daemon's memory or time.
//!
//! The `config` crate loads YAML through yaml-rust2's loader, which expands every alias by
//! copying: 16 levels of 9 aliases is a 30-line file and gigabytes of tree (a "billion laughs").
//! Here the same parser's event stream builds the tree directly, counting every node an alias
//! adds before copying it, and stopping at the first event over a budget. Non-finite numbers
//! (`.inf`, `.nan`, `1e400`) are refused with their field path: JSON cannot hold them, and
//! turned into `null` they would silently remove a limit such as `safety.max_rps`.

use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// Largest config file read, in bytes.
pub const MAX_FILE_BYTES: usize = 4 << 20;
/// Most nodes of the tree after alias expansion (a 2,000-scenario config has ~100,000).
pub const MAX_NODES: usize = 200_000;
/// Deepest nesting of mappings and lists.
pub const MAX_DEPTH: usize = 64;

/// A mistake in the YAML, with the field path when one is known (empty: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub path: String,
    pub message: String,
}

fn whole(message: String) -> YamlError {
    YamlError {
        path: String::new(),
        message,
    }
}

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

struct Open {
    frame: Frame,
    anchor: usize,
    /// `nodes` before this container was counted: its size is the difference at its end.
    nodes_before: usize,
}

struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    root: Option<Value>,
    documents: usize,
    /// Line of the event being handled (1-based), for messages without a useful path.
    line: usize,
}

/// Parses one YAML document into a JSON tree (an empty file is `null`).
pub fn parse(text: &str) -> Result<Value, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(whole(too_big(text.len())));
    }
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
        line: 1,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| whole(format!("not valid YAML: {e}")))?;
        b.line = mark.line();
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart => {
                b.documents += 1;
                if b.documents > 1 {
                    return Err(whole(
                        "not valid YAML: more than one document (---); a config is one document"
                            .into(),
                    ));
                }
            }
            Event::Alias(id) => {
                let (value, size) = b.anchors.get(&id).cloned().ok_or_else(|| {
                    whole("not valid YAML: an alias refers to an unknown anchor".into())
                })?;
                b.count(size)?;
                b.insert(value)?;
            }
            Event::Scalar(s, style, anchor, tag) => {
                b.count(1)?;
                let value = b.scalar(s, style, tag)?;
                if anchor > 0 {
                    b.anchors.insert(anchor, (value.clone(), 1));
                }
                b.insert(value)?;
            }
            Event::SequenceStart(anchor, _) => b.open(Frame::Seq(Vec::new()), anchor)?,
            Event::MappingStart(anchor, _) => b.open(Frame::Map(Map::new(), None), anchor)?,
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = b.stack.pop() else {
                    return Err(whole("not valid YAML: unbalanced collection".into()));
                };
                let value = match open.frame {
                    Frame::Seq(items) => Value::Array(items),
                    Frame::Map(map, _) => Value::Object(map),
                };
                if open.anchor > 0 {
                    let size = b.nodes - open.nodes_before;
                    b.anchors.insert(open.anchor, (value.clone(), size));
                }
                b.insert(value)?;
            }
        }
    }
    Ok(b.root.unwrap_or(Value::Null))
}

pub fn too_big(len: usize) -> String {
    format!(
        "is {len} bytes, above the limit of {MAX_FILE_BYTES} bytes for a config file ({} MiB)",
        MAX_FILE_BYTES >> 20
    )
}

impl Builder {
    fn count(&mut self, n: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(whole(format!(
                "has more than {MAX_NODES} YAML nodes once aliases are expanded (the limit; an alias bomb?)"
            )));
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, anchor: usize) -> Result<(), YamlError> {
        let nodes_before = self.nodes;
        self.count(1)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(whole(format!(
                "nested deeper than {MAX_DEPTH} levels at line {} (the limit)",
                self.line
            )));
        }
        self.stack.push(Open {
            frame,
            anchor,
            nodes_before,
        });
        Ok(())
    }

    /// The dotted path of the value about to be inserted, as compile errors spell it.
    fn path(&self) -> String {
        let mut out = String::new();
        for open in &self.stack {
            match &open.frame {
                Frame::Seq(items) => out.push_str(&format!("[{}]", items.len())),
                Frame::Map(_, Some(key)) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Frame::Map(_, None) => {}
            }
        }
        out
    }

    fn scalar(&self, s: String, style: TScalarStyle, tag: Option<Tag>) -> Result<Value, YamlError> {
        let is_str_tag = tag
            .as_ref()
            .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
        if style != TScalarStyle::Plain || is_str_tag {
            return Ok(Value::String(s));
        }
        Ok(match Yaml::from_str(&s) {
            Yaml::Null => Value::Null,
            Yaml::Boolean(b) => Value::Bool(b),
            Yaml::Integer(i) => Value::Number(i.into()),
            Yaml::Real(r) => match r.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(YamlError {
                        path: self.path(),
                        message: format!("{r} is not a finite number"),
                    });
                }
            },
            _ => Value::String(s),
        })
    }

    fn insert(&mut self, value: Value) -> Result<(), YamlError> {
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        match &mut top.frame {
            Frame::Seq(items) => items.push(value),
            Frame::Map(_, key @ None) => {
                *key = Some(match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".into(),
                    _ => {
                        return Err(YamlError {
                            path: self.path(),
                            message: "a mapping key must be a plain value, not a list or mapping"
                                .into(),
                        });
                    }
                });
            }
            Frame::Map(map, key) => {
                if let Some(k) = key.take() {
                    map.insert(k, value);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_lists_and_mappings_become_json() {
        let v = parse("a: 1\nb: [x, 2.5, true, ~]\nc: { 'd': \"5\" }\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": ["x", 2.5, true, null], "c": {"d": "5"}})
        );
    }

    #[test]
    fn aliases_are_expanded() {
        let v = parse("x: &a { k: 1 }\ny: *a\n").unwrap();
        assert_eq!(v["y"], serde_json::json!({"k": 1}));
    }

    #[test]
    fn an_alias_bomb_stops_at_the_node_budget() {
        let mut text = String::from("l0: &l0 [a, a, a, a, a, a, a, a, a]\n");
        for i in 1..16 {
            let refs = vec![format!("*l{}", i - 1); 9].join(", ");
            text.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("more than 200000 YAML nodes"),
            "{err:?}"
        );
    }

    #[test]
    fn infinite_numbers_are_refused_with_their_path() {
        let err = parse("safety:\n  max_rps: .inf\n").unwrap_err();
        assert_eq!(err.path, "safety.max_rps");
        assert_eq!(err.message, ".inf is not a finite number");
        let err = parse("l: [1, 1e400]\n").unwrap_err();
        assert_eq!(err.path, "l[1]");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nested deeper than 64"), "{err:?}");
    }
}
