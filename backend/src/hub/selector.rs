//! Topic selectors (Mercure spec, "Topic Selectors"): `*`, exact match, URI templates.
//!
//! Selectors are compiled once and shared: [`SelectorStore`] interns them by text, so 10,000
//! subscribers on `/api/items` hold one `Arc<Selector>`, and a template remembers its verdict per
//! topic. A publish evaluates each distinct live selector once, before the registry's lock is
//! taken ([`Selector::evaluate`]); under the lock each subscriber's selectors then only read that
//! verdict ([`Selector::matches_update`]), so the matching cost never holds up other requests.
//!
//! What a client may ask for is bounded before anything is compiled ([`check_all`]): the number
//! of selectors, their length, and a template's variables (`docs/contract.md` §8).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use regex::Regex;

use super::template::{self, TooComplex};

/// Bound of a template's verdict cache and of the store; past it the map is cleared (cheap, and
/// hot entries come back on the next publish).
const CACHE_LIMIT: usize = 4096;

/// Why a list of topics or selectors is refused (a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("too many topics (at most {0})")]
    TooMany(usize),
    #[error("topic too long (at most {0} bytes)")]
    TooLong(usize),
    #[error(transparent)]
    TooComplex(#[from] TooComplex),
}

/// Checks a request's topics or selectors against `max_topics` and `max_topic_length`, and each
/// template against [`template::MAX_VARIABLES`]. Cheap: nothing is compiled.
pub fn check_all<S: AsRef<str>>(
    texts: &[S],
    max_topics: usize,
    max_length: usize,
) -> Result<(), Refused> {
    if texts.len() > max_topics {
        return Err(Refused::TooMany(max_topics));
    }
    for text in texts {
        let text = text.as_ref();
        if text.len() > max_length {
            return Err(Refused::TooLong(max_length));
        }
        template::check(text)?;
    }
    Ok(())
}

/// A compiled topic selector.
#[derive(Debug)]
pub struct Selector {
    text: Box<str>,
    kind: Kind,
    /// The verdict for one update: `seq << 1 | hit`, 0 when none yet ([`Selector::evaluate`]).
    verdict: AtomicU64,
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
    /// Compiles `text`; anything that is not `*` or a valid URI template matches exactly. A
    /// template can take milliseconds: compile off the async workers.
    pub fn new(text: &str) -> Result<Self, TooComplex> {
        let kind = if text == "*" {
            Kind::Any
        } else if let Some(regex) = template::compile(text)? {
            Kind::Template {
                regex,
                verdicts: Mutex::new(HashMap::new()),
            }
        } else {
            Kind::Exact
        };
        Ok(Self {
            text: text.into(),
            kind,
            verdict: AtomicU64::new(0),
        })
    }

    /// The selector as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is `*` (matches everything; nothing to evaluate).
    pub fn is_any(&self) -> bool {
        matches!(self.kind, Kind::Any)
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

    /// Computes and remembers the verdict for the update numbered `seq` (sequence numbers start
    /// at 1).
    pub fn evaluate<S: AsRef<str>>(&self, seq: u64, topics: &[S]) {
        let hit = self.matches_any(topics);
        self.verdict
            .store(seq << 1 | u64::from(hit), Ordering::Relaxed);
    }

    /// Whether the update numbered `seq` matches: the remembered verdict when it is this update's
    /// (one atomic load), else computed now (a selector that went live after the evaluation, or
    /// whose verdict a concurrent publish replaced).
    pub fn matches_update<S: AsRef<str>>(&self, seq: u64, topics: &[S]) -> bool {
        if self.is_any() {
            return true;
        }
        let verdict = self.verdict.load(Ordering::Relaxed);
        if verdict >> 1 == seq {
            return verdict & 1 == 1;
        }
        self.matches_any(topics)
    }
}

/// Interns compiled selectors by their text.
#[derive(Debug, Default)]
pub struct SelectorStore {
    map: Mutex<HashMap<Box<str>, Arc<Selector>>>,
}

impl SelectorStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<Selector>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether [`SelectorStore::get_all`] can answer without compiling a template (interned
    /// already, or no template at all): then it may run on an async worker.
    pub fn is_cheap<S: AsRef<str>>(&self, texts: &[S]) -> bool {
        let map = self.lock();
        texts.iter().all(|t| {
            let t = t.as_ref();
            !t.contains('{') || map.contains_key(t)
        })
    }

    /// The compiled selector for `text`, compiling it on first use. The store's lock is not held
    /// while compiling, so one slow template holds up no other subscribe; two requests compiling
    /// the same text at once both compile and the first to finish is kept.
    pub fn get(&self, text: &str) -> Result<Arc<Selector>, TooComplex> {
        if let Some(s) = self.lock().get(text) {
            return Ok(Arc::clone(s));
        }
        let compiled = Arc::new(Selector::new(text)?);
        let mut map = self.lock();
        if let Some(s) = map.get(text) {
            return Ok(Arc::clone(s));
        }
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(text.into(), Arc::clone(&compiled));
        Ok(compiled)
    }

    /// Compiles every selector of a list.
    pub fn get_all<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Arc<Selector>>, TooComplex> {
        texts.iter().map(|t| self.get(t.as_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(text: &str) -> Selector {
        Selector::new(text).expect("within bounds")
    }

    #[test]
    fn the_four_rules() {
        assert!(sel("*").matches("anything"));
        assert!(sel("/api/items").matches("/api/items"));
        assert!(!sel("/api/items").matches("/api/items/1"));
        // Rule 2 compares templates with templates.
        assert!(sel("/api/items/{id}").matches("/api/items/{id}"));
        assert!(sel("/api/items/{id}").matches("/api/items/7"));
        // An invalid template is an ordinary string.
        assert!(sel("/a/{b").matches("/a/{b"));
        assert!(!sel("/a/{b").matches("/a/x"));
    }

    #[test]
    fn cached_verdicts_stay_correct() {
        let s = sel("/t/{id}");
        for _ in 0..3 {
            assert!(s.matches("/t/1"));
            assert!(!s.matches("/u/1"));
        }
        assert!(s.matches_any(&["/u/1", "/t/2"]));
    }

    #[test]
    fn evaluated_verdicts_belong_to_one_update() {
        let s = sel("/t/{id}");
        s.evaluate(1, &["/t/1"]);
        assert!(s.matches_update(1, &["/t/1"]));
        // Another update's topics are matched afresh, not given the stored verdict.
        assert!(!s.matches_update(2, &["/u/1"]));
        s.evaluate(3, &["/u/1"]);
        assert!(!s.matches_update(3, &["/u/1"]));
        assert!(s.matches_update(4, &["/t/9"]));
    }

    #[test]
    fn store_interns() {
        let store = SelectorStore::default();
        let a = store.get("/t/{id}").unwrap();
        let b = store.get("/t/{id}").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.as_str(), "/t/{id}");
        assert!(store.is_cheap(&["/t/{id}", "/plain", "*"]));
        assert!(!store.is_cheap(&["/u/{id}"]));
    }

    #[test]
    fn requests_are_bounded_before_compiling() {
        assert_eq!(check_all(&["/a", "/b/{id}"], 2, 16), Ok(()));
        assert_eq!(
            check_all(&["/a", "/b", "/c"], 2, 16),
            Err(Refused::TooMany(2))
        );
        assert_eq!(
            check_all(&["/a".repeat(9)], 2, 16),
            Err(Refused::TooLong(16))
        );
        let complex: String = (0..=template::MAX_VARIABLES)
            .map(|i| format!("{{v{i}}}"))
            .collect();
        assert_eq!(
            check_all(&[complex.as_str()], 2, 1 << 10),
            Err(Refused::TooComplex(TooComplex))
        );
    }
}
