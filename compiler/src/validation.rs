//! Validation metadata of outcome definitions (every stage): how well a definition finds the
//! real outcome, with its source. It travels from the stdlib's `validated { … }` blocks into
//! the cohort IR, `run.json`, every report and its codebook. Only the stdlib's definitions
//! are validated: a script's own outcome is study-specific, and says so wherever it goes.

/// A definition validated against chart review (in the stdlib only).
pub const VALIDATED: &str = "validated";
/// A stdlib definition with no published validation: to be validated before a study relies
/// on it.
pub const PROVISIONAL: &str = "provisional";
/// A script's own definition or outcome: never validated by the network.
pub const STUDY_SPECIFIC: &str = "study-specific";

/// Validation metadata of an outcome definition; travels into run.json and reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    /// `validated`, `provisional` or `study-specific`.
    #[serde(deserialize_with = "status")]
    pub status: String,
    pub ppv: Option<f64>,
    pub sensitivity: Option<f64>,
    /// The sensitivity is relative (to the broadest definition studied), not against every
    /// true case.
    #[serde(default)]
    pub sensitivity_relative: bool,
    #[serde(default)]
    pub specificity: Option<f64>,
    /// What the validation found, in words.
    pub source: Option<String>,
    /// The publication: authors, journal or meeting, year.
    #[serde(default)]
    pub citation: Option<String>,
    #[serde(default)]
    pub doi: Option<String>,
    /// How this definition differs from the published algorithm whose figures it carries.
    #[serde(default)]
    pub adapted: Option<String>,
    pub population: Option<String>,
    /// Which and how many hospitals the validation was done at.
    #[serde(default)]
    pub sites: Option<String>,
    pub note: Option<String>,
}

impl Validation {
    /// The metadata of a script's own definition or outcome.
    pub fn study_specific() -> Validation {
        Validation {
            status: STUDY_SPECIFIC.into(),
            ppv: None,
            sensitivity: None,
            sensitivity_relative: false,
            specificity: None,
            source: None,
            citation: None,
            doi: None,
            adapted: None,
            population: None,
            sites: None,
            note: None,
        }
    }

    /// `validated, PPV 95.7 %, sensitivity 84.6 % (relative), …, note: …` (the CIR text,
    /// the HIR text and the console): every field, so a lower bound, a relative sensitivity,
    /// an adaptation or a one-site population is never dropped on the way to a reader.
    pub fn describe(&self) -> String {
        let mut parts = vec![if self.status == STUDY_SPECIFIC {
            "study-specific, not validated".to_string()
        } else {
            self.status.clone()
        }];
        if let Some(a) = &self.adapted {
            parts.push(format!(
                "adapted from the published algorithm, whose figures these are: {a}"
            ));
        }
        let pct = |x: f64| format!("{:.1} %", x * 100.0);
        if let Some(p) = self.ppv {
            parts.push(format!("PPV {}", pct(p)));
        }
        if let Some(s) = self.sensitivity {
            let relative = if self.sensitivity_relative {
                " (relative)"
            } else {
                ""
            };
            parts.push(format!("sensitivity {}{relative}", pct(s)));
        }
        if let Some(s) = self.specificity {
            parts.push(format!("specificity {}", pct(s)));
        }
        for (name, v) in [
            ("population", &self.population),
            ("sites", &self.sites),
            ("source", &self.source),
            ("citation", &self.citation),
            ("doi", &self.doi),
            ("note", &self.note),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name}: {v}"));
            }
        }
        parts.join(", ")
    }
}

/// Reads a status back (a request package carries its outputs' metadata): one of those the
/// checker writes.
fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    match s.as_str() {
        VALIDATED | PROVISIONAL | STUDY_SPECIFIC => Ok(s),
        other => Err(serde::de::Error::custom(format!(
            "`{other}` is not a validation status (validated, provisional, study-specific)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_study_specific_outcome_says_it_is_not_validated() {
        assert_eq!(
            Validation::study_specific().describe(),
            "study-specific, not validated"
        );
    }

    #[test]
    fn every_field_reaches_the_reader() {
        let v = Validation {
            status: VALIDATED.into(),
            ppv: Some(0.616),
            sensitivity: Some(0.924),
            sensitivity_relative: true,
            specificity: Some(0.989),
            source: Some("s".into()),
            citation: Some("c".into()),
            doi: Some("10.1/x".into()),
            adapted: Some("fewer operations".into()),
            population: Some("inpatients".into()),
            sites: Some("3 hospitals".into()),
            note: Some("n".into()),
        };
        assert_eq!(
            v.describe(),
            "validated, adapted from the published algorithm, whose figures these are: fewer operations, PPV 61.6 %, sensitivity 92.4 % (relative), specificity 98.9 %, population: inpatients, sites: 3 hospitals, source: s, citation: c, doi: 10.1/x, note: n"
        );
    }

    #[test]
    fn a_status_read_back_is_one_the_checker_writes() {
        let json = |s: &str| {
            format!(
                r#"{{"status":"{s}","ppv":null,"sensitivity":null,"source":null,"population":null,"note":null}}"#
            )
        };
        let v: Validation = serde_json::from_str(&json("study-specific")).expect("reads");
        assert_eq!(v, Validation::study_specific());
        assert!(serde_json::from_str::<Validation>(&json("trusted")).is_err());
    }
}
