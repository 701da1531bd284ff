//! The one JSON line each run prints, and the error tally that goes into it.

use serde_json::{Map, Value, json};

use crate::error::BenchError;

/// How many distinct error messages a report keeps as samples.
const MAX_SAMPLES: usize = 5;

/// Counts errors and keeps a few samples, so a failing server is reported, not crashed on.
#[derive(Debug, Default, Clone)]
pub struct ErrorTally {
    /// Number of errors.
    pub count: u64,
    /// First few distinct messages.
    pub samples: Vec<String>,
}

impl ErrorTally {
    /// Records an error.
    pub fn add(&mut self, e: &BenchError) {
        self.add_text(e.to_string());
    }

    /// Records an error given as text.
    pub fn add_text(&mut self, text: String) {
        self.count += 1;
        if self.samples.len() < MAX_SAMPLES && !self.samples.contains(&text) {
            self.samples.push(text);
        }
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: &ErrorTally) {
        self.count += other.count;
        for s in &other.samples {
            if self.samples.len() < MAX_SAMPLES && !self.samples.contains(s) {
                self.samples.push(s.clone());
            }
        }
    }
}

/// One run's result: scenario name, parameters and figures, printed as one JSON line.
#[derive(Debug)]
pub struct Report {
    /// Scenario name.
    pub scenario: &'static str,
    /// Parameters of the run (sizes, rates, target).
    pub params: Map<String, Value>,
    /// Measured figures, flat numbers keyed by name.
    pub figures: Map<String, Value>,
    /// Extra structured detail (per-wave figures).
    pub detail: Map<String, Value>,
    /// Errors seen.
    pub errors: ErrorTally,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &'static str) -> Self {
        Report {
            scenario,
            params: Map::new(),
            figures: Map::new(),
            detail: Map::new(),
            errors: ErrorTally::default(),
        }
    }

    /// Sets a parameter.
    pub fn param(&mut self, key: &str, v: impl Into<Value>) {
        self.params.insert(key.into(), v.into());
    }

    /// Sets a figure; floats are rounded to 3 decimals to keep the line readable.
    pub fn figure(&mut self, key: &str, v: impl Into<Value>) {
        let v = v.into();
        let v = match v.as_f64() {
            Some(f) if v.is_f64() => json!((f * 1000.0).round() / 1000.0),
            _ => v,
        };
        self.figures.insert(key.into(), v);
    }

    /// The JSON value of the whole report, with `label` and `target` added.
    pub fn to_json(&self, label: &str, target: &str) -> Value {
        let mut v = json!({
            "scenario": self.scenario,
            "label": label,
            "target": target,
            "params": self.params,
            "figures": self.figures,
            "errors": self.errors.count,
            "error_samples": self.errors.samples,
        });
        if !self.detail.is_empty()
            && let Some(obj) = v.as_object_mut()
        {
            obj.insert("detail".into(), Value::Object(self.detail.clone()));
        }
        v
    }
}

/// Rate per second, 0 when the duration is zero.
pub fn per_sec(count: u64, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}
