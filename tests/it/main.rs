//! The one integration test binary (STYLE.md): each module is a suite.

#![allow(clippy::unwrap_used)] // Tests may unwrap.

mod fuzz_regressions;
mod rfc4475;
