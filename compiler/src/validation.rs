//! Validation metadata of outcome definitions (every stage): how well a definition finds the
//! real outcome, with its source. It travels from the stdlib's `validated { … }` blocks into
//! the cohort IR, `run.json`, every report and its codebook.

/// Validation metadata of an outcome definition; travels into run.json and reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    /// `validated` or `provisional`.
    #[serde(deserialize_with = "status")]
    pub status: String,
    pub ppv: Option<f64>,
    pub sensitivity: Option<f64>,
    pub source: Option<String>,
    pub population: Option<String>,
    pub note: Option<String>,
}

impl Validation {
    /// `validated, PPV 95.7 %, sensitivity 84.6 %, source: …` (the CIR text and the console).
    pub fn describe(&self) -> String {
        let mut parts = vec![self.status.to_string()];
        if let Some(p) = self.ppv {
            parts.push(format!("PPV {:.1} %", p * 100.0));
        }
        if let Some(s) = self.sensitivity {
            parts.push(format!("sensitivity {:.1} %", s * 100.0));
        }
        if let Some(s) = &self.source {
            parts.push(format!("source: {s}"));
        }
        parts.join(", ")
    }
}

/// Reads a status back (a request package carries its outputs' metadata): one of the two
/// the checker writes.
fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    match s.as_str() {
        "validated" | "provisional" => Ok(s),
        other => Err(serde::de::Error::custom(format!(
            "`{other}` is not a validation status (validated, provisional)"
        ))),
    }
}
