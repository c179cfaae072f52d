//! Topic selectors (Mercure spec, "Topic Selectors"): `*`, exact match, URI templates.
//!
//! Selectors are compiled once and shared: [`SelectorStore`] interns them by text, so 10,000
//! subscribers on `/api/todos` hold one `Arc<Selector>`, and a template remembers its verdict per
//! topic, so a publish costs one regex run per (selector, topic) pair, not per subscriber.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;

use super::template;

/// Bound of a template's verdict cache and of the store; past it the map is cleared (cheap, and
/// hot entries come back on the next publish).
const CACHE_LIMIT: usize = 4096;

/// A compiled topic selector.
#[derive(Debug)]
pub struct Selector {
    text: Box<str>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Any,
    Exact,
    Template {
        regex: Regex,
        verdicts: Mutex<HashMap<Box<str>, bool>>,
    },
}

impl Selector {
    /// Compiles `text`; anything that is not `*` or a valid URI template matches exactly.
    pub fn new(text: &str) -> Self {
        let kind = if text == "*" {
            Kind::Any
        } else if let Some(regex) = template::compile(text) {
            Kind::Template {
                regex,
                verdicts: Mutex::new(HashMap::new()),
            }
        } else {
            Kind::Exact
        };
        Self {
            text: text.into(),
            kind,
        }
    }

    /// The selector as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The spec's four steps: `*`, identical strings, template match, otherwise no match.
    pub fn matches(&self, topic: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            _ if *self.text == *topic => true,
            Kind::Exact => false,
            Kind::Template { regex, verdicts } => {
                let mut verdicts = verdicts.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(&hit) = verdicts.get(topic) {
                    return hit;
                }
                let hit = regex.is_match(topic);
                if verdicts.len() >= CACHE_LIMIT {
                    verdicts.clear();
                }
                verdicts.insert(topic.into(), hit);
                hit
            }
        }
    }

    /// Whether any of `topics` matches.
    pub fn matches_any<S: AsRef<str>>(&self, topics: &[S]) -> bool {
        topics.iter().any(|t| self.matches(t.as_ref()))
    }
}

/// Interns compiled selectors by their text.
#[derive(Debug, Default)]
pub struct SelectorStore {
    map: Mutex<HashMap<Box<str>, Arc<Selector>>>,
}

impl SelectorStore {
    /// The compiled selector for `text`, compiling it on first use.
    pub fn get(&self, text: &str) -> Arc<Selector> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(text) {
            return Arc::clone(s);
        }
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        let s = Arc::new(Selector::new(text));
        map.insert(text.into(), Arc::clone(&s));
        s
    }

    /// Compiles every selector of a list.
    pub fn get_all<S: AsRef<str>>(&self, texts: &[S]) -> Vec<Arc<Selector>> {
        texts.iter().map(|t| self.get(t.as_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_rules() {
        assert!(Selector::new("*").matches("anything"));
        assert!(Selector::new("/api/todos").matches("/api/todos"));
        assert!(!Selector::new("/api/todos").matches("/api/todos/1"));
        // Rule 2 compares templates with templates.
        assert!(Selector::new("/api/todos/{id}").matches("/api/todos/{id}"));
        assert!(Selector::new("/api/todos/{id}").matches("/api/todos/7"));
        // An invalid template is an ordinary string.
        assert!(Selector::new("/a/{b").matches("/a/{b"));
        assert!(!Selector::new("/a/{b").matches("/a/x"));
    }

    #[test]
    fn cached_verdicts_stay_correct() {
        let s = Selector::new("/t/{id}");
        for _ in 0..3 {
            assert!(s.matches("/t/1"));
            assert!(!s.matches("/u/1"));
        }
        assert!(s.matches_any(&["/u/1", "/t/2"]));
    }

    #[test]
    fn store_interns() {
        let store = SelectorStore::default();
        let a = store.get("/t/{id}");
        let b = store.get("/t/{id}");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.as_str(), "/t/{id}");
    }
}
