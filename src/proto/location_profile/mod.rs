//! Location profiles ([MS-SIPRE] normalization rules; PROTOCOLS.md section
//! 6): how the numbers people type become E.164 numbers before anything is
//! dialled.
//!
//! A [`LocationProfile`] is a named, ordered list of [`Rule`]s; its name is
//! the `phone-context` of the tel URIs it makes sense of (RFC 3966 §5.1.5).
//! A rule is a regular expression and a translation in which `$1`, `${2}`
//! or `$name` stand for its groups. [`LocationProfile::normalize`] (in
//! `normalize`) strips the visual separators RFC 3966 §5.1.1 allows
//! (spaces, dashes, dots, parentheses), tries the rules in order, and the
//! first that matches makes the result, which must be `+` and 1 to 15
//! digits (ITU-T E.164). Anything else is an error that says why: a letter,
//! no rule, a result that is not E.164.
//!
//! Profiles come from the server's TOML file (`load`: `confab serve
//! --location-profiles`, the shipped `assets/location-profiles.toml` by
//! default) and reach clients in the provisioning document
//! (`proto::provisioning`), so rules may come from the network: every
//! profile is bounded (rules, pattern and translation lengths, the compiled
//! size of each expression), and the `regex` crate matches in linear time.
//!
//! Invariants: a [`Rule`] exists only compiled, and its translation names
//! only groups its pattern has; a [`LocationProfile`] has a valid name and
//! 1 to [`MAX_RULES`] rules; a [`LocationProfiles`] set names each profile
//! once.

mod load;
mod normalize;
#[cfg(test)]
mod tests;

pub use load::LoadError;
pub use normalize::{MatchedRule, NormalizeError, Normalized, is_e164, looks_like_number};

use regex::{Regex, RegexBuilder};
use thiserror::Error;

/// The profiles confab ships: the US profile of PROTOCOLS.md section 6.
pub const SHIPPED: &str = include_str!("../../../assets/location-profiles.toml");
/// The profile a user has unless the directory says otherwise, and the one
/// a client falls back to.
pub const DEFAULT_PROFILE: &str = "US";

/// The most rules one profile holds.
pub const MAX_RULES: usize = 64;
/// The most profiles one set holds.
pub const MAX_PROFILES: usize = 256;
/// The longest profile name, pattern, translation and description, in
/// characters.
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_PATTERN_CHARS: usize = 256;
pub const MAX_TRANSLATION_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 128;
/// The compiled size of one expression: room for any sensible dialling
/// rule, and a bound on what a hostile one costs to compile.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Why a rule or a profile cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    #[error("the profile name {0:?} is not 1 to 64 letters, digits, '-', '.' or '_'")]
    BadName(String),
    #[error("location profile {0:?} has no rules")]
    NoRules(String),
    #[error("location profile {profile:?} has {count} rules, over the limit of {limit}")]
    TooManyRules {
        profile: String,
        count: usize,
        limit: usize,
    },
    #[error("location profile {profile:?}, rule {rule}, pattern '{pattern}': {reason}")]
    BadRule {
        profile: String,
        /// 1-based, as a person counts the rules of a file.
        rule: usize,
        pattern: String,
        reason: RuleError,
    },
    #[error("location profile {0:?} is defined twice")]
    Duplicate(String),
    #[error("{count} location profiles is over the limit of {limit}")]
    TooManyProfiles { count: usize, limit: usize },
}

/// What is wrong with one rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    #[error("the {what} is {chars} characters, over the limit of {limit}")]
    TooLong {
        what: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("the pattern is empty")]
    EmptyPattern,
    #[error("the translation is empty")]
    EmptyTranslation,
    #[error("the pattern is not a regular expression: {0}")]
    BadPattern(String),
    #[error("the translation names group {0:?}, which the pattern does not have")]
    UnknownGroup(String),
    #[error("the translation has a '$' that names no group (write $$ for a dollar)")]
    BadReference,
}

/// One rule: a compiled pattern and the translation of what it matches.
#[derive(Debug, Clone)]
pub struct Rule {
    regex: Regex,
    translation: String,
    description: String,
}

impl Rule {
    /// Compiles a rule, checking its bounds and that the translation names
    /// only groups of the pattern (the `regex` crate would silently put
    /// nothing in place of an unknown one, so `$1a` would dial a number
    /// without its digits).
    pub fn new(pattern: &str, translation: &str, description: &str) -> Result<Rule, RuleError> {
        check_length("pattern", pattern, MAX_PATTERN_CHARS)?;
        check_length("translation", translation, MAX_TRANSLATION_CHARS)?;
        check_length("description", description, MAX_DESCRIPTION_CHARS)?;
        if pattern.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        if translation.is_empty() {
            return Err(RuleError::EmptyTranslation);
        }
        let build = |unicode: bool| {
            RegexBuilder::new(pattern)
                .unicode(unicode)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
        };
        // A rule only ever sees ASCII (digits and a leading '+', see
        // `normalize`), on which an expression matches alike with Unicode
        // classes or without; without, `\d` is ten bytes rather than every
        // script's digits and the compiled expression is a hundred times
        // smaller (a client holds the fallback profile from start-up). A
        // pattern that compiles only in Unicode mode (`.` or a negated
        // class, which could otherwise match half a character) keeps it.
        let regex = build(false)
            .or_else(|_| build(true))
            .map_err(|error| RuleError::BadPattern(one_line(&error.to_string())))?;
        check_references(&regex, translation)?;
        Ok(Rule {
            regex,
            translation: translation.to_owned(),
            description: description.to_owned(),
        })
    }

    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    pub fn translation(&self) -> &str {
        &self.translation
    }

    /// What the rule is for ("7-digit local"); may be empty.
    pub fn description(&self) -> &str {
        &self.description
    }

    pub(crate) fn regex(&self) -> &Regex {
        &self.regex
    }
}

/// Rules compare by their text: two rules written alike are the same rule.
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.pattern() == other.pattern()
            && self.translation == other.translation
            && self.description == other.description
    }
}

impl Eq for Rule {}

/// A named, ordered list of rules. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationProfile {
    name: String,
    rules: Vec<Rule>,
}

impl LocationProfile {
    /// A profile of already compiled rules.
    pub fn new(name: &str, rules: Vec<Rule>) -> Result<LocationProfile, ProfileError> {
        check_name(name)?;
        if rules.is_empty() {
            return Err(ProfileError::NoRules(name.to_owned()));
        }
        if rules.len() > MAX_RULES {
            return Err(ProfileError::TooManyRules {
                profile: name.to_owned(),
                count: rules.len(),
                limit: MAX_RULES,
            });
        }
        Ok(LocationProfile {
            name: name.to_owned(),
            rules,
        })
    }

    /// A profile from rules as text, (pattern, translation, description)
    /// each; an error names the profile and the rule.
    pub fn from_rules<'a>(
        name: &str,
        rules: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<LocationProfile, ProfileError> {
        check_name(name)?;
        let mut compiled = Vec::new();
        for (index, (pattern, translation, description)) in rules.into_iter().enumerate() {
            if compiled.len() == MAX_RULES {
                return Err(ProfileError::TooManyRules {
                    profile: name.to_owned(),
                    count: index + 1,
                    limit: MAX_RULES,
                });
            }
            let rule = Rule::new(pattern, translation, description).map_err(|reason| {
                ProfileError::BadRule {
                    profile: name.to_owned(),
                    rule: index + 1,
                    pattern: excerpt(pattern),
                    reason,
                }
            })?;
            compiled.push(rule);
        }
        LocationProfile::new(name, compiled)
    }

    /// The US profile confab ships, which a client uses until (or unless)
    /// its server provisions one.
    pub fn fallback() -> LocationProfile {
        let shipped = LocationProfiles::shipped();
        match shipped.get(DEFAULT_PROFILE) {
            Some(profile) => profile.clone(),
            // The shipped file is tested to hold it; an empty profile
            // would refuse every number, which is the safe way to be wrong.
            None => LocationProfile {
                name: DEFAULT_PROFILE.to_owned(),
                rules: Vec::new(),
            },
        }
    }

    /// The profile's name: the `phone-context` of its numbers.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

/// The profiles a server offers, each named once, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationProfiles {
    profiles: Vec<LocationProfile>,
}

impl LocationProfiles {
    pub fn new(profiles: Vec<LocationProfile>) -> Result<LocationProfiles, ProfileError> {
        if profiles.len() > MAX_PROFILES {
            return Err(ProfileError::TooManyProfiles {
                count: profiles.len(),
                limit: MAX_PROFILES,
            });
        }
        for (index, profile) in profiles.iter().enumerate() {
            let earlier = profiles.get(..index).unwrap_or_default();
            if earlier.iter().any(|other| other.name == profile.name) {
                return Err(ProfileError::Duplicate(profile.name.clone()));
            }
        }
        Ok(LocationProfiles { profiles })
    }

    /// The shipped file, [`SHIPPED`]; empty (and logged) if it does not
    /// load, which a test rules out.
    pub fn shipped() -> LocationProfiles {
        LocationProfiles::from_toml(SHIPPED).unwrap_or_else(|error| {
            tracing::error!(%error, "the shipped location profiles do not load");
            LocationProfiles::default()
        })
    }

    /// The profile named `name`; names compare exactly, as the
    /// directory stores them.
    pub fn get(&self, name: &str) -> Option<&LocationProfile> {
        self.profiles.iter().find(|profile| profile.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &LocationProfile> {
        self.profiles.iter()
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

/// A name usable as a `phone-context` and as an XML attribute value.
fn check_name(name: &str) -> Result<(), ProfileError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if valid {
        Ok(())
    } else {
        Err(ProfileError::BadName(excerpt(name)))
    }
}

fn check_length(what: &'static str, text: &str, limit: usize) -> Result<(), RuleError> {
    let chars = text.chars().count();
    if chars > limit {
        return Err(RuleError::TooLong { what, chars, limit });
    }
    Ok(())
}

/// Every `$` reference of a translation names a group of `regex`, read as
/// the `regex` crate's `Captures::expand` reads it: `$$` is a dollar,
/// `${name}` is braced, else the longest run of letters, digits and `_`.
fn check_references(regex: &Regex, translation: &str) -> Result<(), RuleError> {
    let mut rest = translation;
    while let Some(at) = rest.find('$') {
        let after = rest.get(at + 1..).unwrap_or_default();
        if let Some(literal) = after.strip_prefix('$') {
            rest = literal;
            continue;
        }
        let (name, remaining) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}').ok_or(RuleError::BadReference)?;
                (braced.get(..end), braced.get(end + 1..))
            }
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if end == 0 {
                    return Err(RuleError::BadReference);
                }
                (after.get(..end), after.get(end..))
            }
        };
        let name = name.unwrap_or_default();
        let known = match name.parse::<usize>() {
            Ok(index) => index < regex.captures_len(),
            Err(_) => regex.capture_names().flatten().any(|group| group == name),
        };
        if !known {
            return Err(RuleError::UnknownGroup(excerpt(name)));
        }
        rest = remaining.unwrap_or_default();
    }
    Ok(())
}

/// At most 64 characters of `text`, for error messages.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// The first line of a multi-line message (the `regex` crate's errors
/// draw a caret under the pattern).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && !line.starts_with('^'))
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .unwrap_or("invalid")
        .to_owned()
}
