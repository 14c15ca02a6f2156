//! Normalization: a number as typed, through a profile's rules, to E.164.
//!
//! The input may start with `tel:` (RFC 3966) and may carry the visual
//! separators of RFC 3966 §5.1.1 that people type: spaces, `-`, `.`, `(`
//! and `)`, all dropped. What is left must be digits, with at most a `+`
//! in front; a letter or any other character is refused by name (confab
//! does not map letters to keypad digits). The first rule whose pattern
//! matches the digits makes the result by replacing its first match
//! (unanchored parts of the number stay), and the result must be E.164:
//! `+` and 1 to 15 digits (ITU-T E.164 §6.1).

use thiserror::Error;

use super::{LocationProfile, Rule};

/// The most digits a typed number may have: E.164's 15 plus room for an
/// international prefix.
const MAX_DIGITS: usize = 32;

/// A number made E.164, and the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// `+` and 1 to 15 digits.
    pub e164: String,
    pub rule: MatchedRule,
}

/// Which rule of the profile matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// Its place in the profile, from 0.
    pub index: usize,
    pub pattern: String,
    pub description: String,
}

impl MatchedRule {
    /// How to name the rule to a person: its description, else its
    /// pattern.
    pub fn label(&self) -> &str {
        if self.description.is_empty() {
            &self.pattern
        } else {
            &self.description
        }
    }
}

/// Why a number cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NormalizeError {
    #[error("no number given")]
    Empty,
    #[error(
        "{character:?} is not a digit: a number has digits, a leading +, \
         and spaces, dashes, dots or parentheses"
    )]
    BadCharacter { character: char },
    #[error("'+' may only start a number")]
    MisplacedPlus,
    #[error("{digits} digits is too long for a phone number (at most {MAX_DIGITS})")]
    TooLong { digits: usize },
    #[error("no rule of location profile {profile} matches {number}")]
    NoRule { profile: String, number: String },
    #[error("rule {rule:?} of location profile {profile} makes {result:?}, not an E.164 number")]
    NotE164 {
        profile: String,
        rule: String,
        result: String,
    },
}

impl LocationProfile {
    /// The E.164 number `input` stands for under this profile, and the
    /// rule that made it. See the module documentation.
    pub fn normalize(&self, input: &str) -> Result<Normalized, NormalizeError> {
        let number = dialled(input)?;
        let Some((index, rule)) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.regex().is_match(&number))
        else {
            return Err(NormalizeError::NoRule {
                profile: self.name.clone(),
                number,
            });
        };
        let matched = matched(index, rule);
        let e164 = rule
            .regex()
            .replace(&number, rule.translation())
            .into_owned();
        if !is_e164(&e164) {
            return Err(NormalizeError::NotE164 {
                profile: self.name.clone(),
                rule: matched.label().to_owned(),
                result: super::excerpt(&e164),
            });
        }
        Ok(Normalized {
            e164,
            rule: matched,
        })
    }
}

/// Whether `text` is meant as a phone number rather than an address or a
/// user name: a `tel:` URI, or a `+`, a digit or `(` first and no `@`.
/// Such text is normalized, so a mistyped number is refused rather than
/// taken for a user name; a user whose name starts with a digit is
/// reached by its address (`7eleven@example.com`).
pub fn looks_like_number(text: &str) -> bool {
    let text = text.trim();
    if strip_tel(text).is_some() {
        return true;
    }
    text.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit()) && !text.contains('@')
}

/// ITU-T E.164: `+` and 1 to 15 digits.
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The digits of a typed number (with its leading `+`), separators gone.
fn dialled(input: &str) -> Result<String, NormalizeError> {
    let text = input.trim();
    let text = strip_tel(text).unwrap_or(text);
    let mut number = String::new();
    for character in text.chars() {
        match character {
            ' ' | '-' | '.' | '(' | ')' => {}
            '0'..='9' => number.push(character),
            '+' if number.is_empty() => number.push(character),
            '+' => return Err(NormalizeError::MisplacedPlus),
            _ => return Err(NormalizeError::BadCharacter { character }),
        }
    }
    let digits = number.trim_start_matches('+').len();
    if digits == 0 {
        return Err(NormalizeError::Empty);
    }
    if digits > MAX_DIGITS {
        return Err(NormalizeError::TooLong { digits });
    }
    Ok(number)
}

/// The number of a `tel:` URI (the scheme is case-insensitive, RFC 3966
/// §3).
fn strip_tel(text: &str) -> Option<&str> {
    let scheme = text.get(..4)?;
    scheme
        .eq_ignore_ascii_case("tel:")
        .then(|| text.get(4..))
        .flatten()
}

fn matched(index: usize, rule: &Rule) -> MatchedRule {
    MatchedRule {
        index,
        pattern: rule.pattern().to_owned(),
        description: rule.description().to_owned(),
    }
}
