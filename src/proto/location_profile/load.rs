//! Reading a set of profiles from TOML, the server's file format:
//!
//! ```toml
//! [[profile]]
//! name = "US"
//!
//! [[profile.rule]]
//! pattern = '^(\d{7})$'
//! translation = '+1425$1'
//! description = "7-digit local"
//! ```
//!
//! Unknown keys are errors, so a typo does not silently drop a rule; every
//! error names the line, or the profile and the rule.

use serde::Deserialize;
use thiserror::Error;

use super::{LocationProfile, LocationProfiles, ProfileError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    #[error("line {line}: {message}")]
    Toml { line: usize, message: String },
    #[error("{0}")]
    Profile(#[from] ProfileError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "profile")]
    profiles: Vec<ProfileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileEntry {
    name: String,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    pattern: String,
    translation: String,
    #[serde(default)]
    description: String,
}

impl LocationProfiles {
    /// The profiles of a TOML document, compiled, in file order.
    pub fn from_toml(text: &str) -> Result<LocationProfiles, LoadError> {
        let file: File = toml::from_str(text).map_err(|error| LoadError::Toml {
            line: error.span().map_or(0, |span| line_of(text, span.start)),
            message: error.message().trim_end().to_owned(),
        })?;
        let profiles = file
            .profiles
            .iter()
            .map(|profile| {
                LocationProfile::from_rules(
                    &profile.name,
                    profile.rules.iter().map(|rule| {
                        (
                            rule.pattern.as_str(),
                            rule.translation.as_str(),
                            rule.description.as_str(),
                        )
                    }),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LocationProfiles::new(profiles)?)
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|&&byte| byte == b'\n').count() + 1
}
