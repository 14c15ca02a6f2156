//! Interop with a real SIP tool: every sipp scenario in tests/sipp against
//! `confab serve --demo` (REGISTER challenges, wrong and unknown users, a
//! proxied MESSAGE and INVITE between sipp UAs, OPTIONS keep-alives, and a
//! stream of garbage over UDP and TCP followed by a good REGISTER).

use std::process::Command;

use crate::harness::{ServerProcess, repo_path};

#[test]
fn every_sipp_scenario_passes_against_confab_serve() {
    let server = ServerProcess::start();
    let logs = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(repo_path("tests/sipp/run.sh"))
        .arg("--logs")
        .arg(logs.path())
        .arg(server.addr.to_string())
        .output()
        .expect("bash runs tests/sipp/run.sh");
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sipp scenarios failed:\n{report}\n{errors}"
    );
    for check in [
        "register_ok (udp)",
        "register_ok (tcp)",
        "register_wrong_password",
        "register_unknown_user",
        "message (amy to hao)",
        "invite (amy to vivian)",
        "garbage",
        "register_ok after garbage",
    ] {
        assert!(
            report
                .lines()
                .any(|line| line.starts_with("PASS") && line.contains(check)),
            "{check} did not pass:\n{report}"
        );
    }
}
