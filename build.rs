//! Release builds of `confab` link the functions of the client's start-up
//! and idle loop side by side (link/symbol-order.txt, written by
//! scripts/symbol-order.sh), so a signed-in client keeps about a third of
//! the code resident that it would in the compiler's order.
//!
//! The option is lld's, and lld is the linker rustc uses on
//! x86_64-unknown-linux-gnu from 1.90 on; anywhere else (another target,
//! an older rustc, a linker of the user's choosing) the build links as
//! before.

use std::env;
use std::path::Path;
use std::process::Command;

const ORDER_FILE: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if env::var("PROFILE").as_deref() != Ok("release")
        || env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || env::var("CARGO_ENCODED_RUSTFLAGS")
            .is_ok_and(|flags| flags.contains("linker") || flags.contains("link-self-contained"))
        || !rustc_links_with_lld()
    {
        return;
    }
    let Ok(manifest_dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&manifest_dir).join(ORDER_FILE);
    if !order.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=confab=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // Names the build no longer has (renamed or inlined since the file was
    // written) are skipped, not errors.
    println!("cargo:rustc-link-arg-bin=confab=-Wl,--no-warn-symbol-ordering");
    // The loader applies some 16,000 relative relocations at start-up; packed
    // (DT_RELR, glibc 2.36 and later) their table is a few kilobytes instead
    // of 380 that would stay resident.
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=confab=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's C library is glibc of at least this version
/// (`getconf GNU_LIBC_VERSION`: "glibc 2.36").
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(output) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    version_at_least(version, major, minor)
}

/// Whether a dotted version ("1.95.0", "2.36") is at least major.minor.
fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut numbers = version
        .split(['.', '-'])
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    found >= (major, minor)
}

/// Whether the compiler is 1.90 or later, whose x86_64 Linux default
/// linker is its bundled lld.
fn rustc_links_with_lld() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(output) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = text.split_whitespace().nth(1).unwrap_or_default();
    version_at_least(version, 1, 90)
}
