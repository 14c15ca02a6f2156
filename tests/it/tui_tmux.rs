//! The terminal client end to end, as a new user meets it: the real
//! `confab` binary in a real terminal (a detached tmux session), driven by
//! keystrokes and read back from the screen.
//!
//! Checked: signing in against `confab serve` shows the buddy list, the
//! buddies' presence and notes, and "Signed in"; an IM to the demo buddy
//! is marked delivered (✓) and answered; the help overlay opens and
//! closes; a shrink to 80x24 redraws without a panic; `q` exits with
//! status 0. Then the status picker sets Busy, and an IM to an offline
//! user is marked not delivered with the 480 reason the proxy gave. And a
//! confab that ignores SIGHUP exits, without spinning, when its terminal
//! goes away.
//!
//! Each test has its own tmux server (`tmux -S`, its socket in the test's
//! tempdir), server port and XDG directories, so tests run in parallel.
//! Every wait polls the screen for a specific text until a deadline that
//! fails with the last screen.
//! tmux is required: a missing tmux fails the test rather than skip it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{CONFAB, ServerProcess};

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
const EXITED: &str = "CONFAB-EXITED:";

/// `confab serve --demo-buddies`: Amy and Hao signed in by the server
/// itself. (The harness's `ServerProcess` loads the directory only.)
/// `confab` signed in as vivian, in a tmux server of its own; dropping it
/// kills that tmux server (and so confab), also when a test panics.
struct Terminal {
    /// Holds the XDG directories and the tmux socket, removed on drop.
    dir: tempfile::TempDir,
}

impl Terminal {
    fn start(server: SocketAddr) -> Terminal {
        // The pane outlives confab so that its exit status can be read.
        Terminal::start_with(|_| {
            format!("'{CONFAB}' --server {server} --user vivian; echo {EXITED}$?; sleep 60")
        })
    }

    /// Runs the shell `command` made for this test's directory in the pane.
    fn start_with(command: impl FnOnce(&Path) -> String) -> Terminal {
        let installed = Command::new("tmux").arg("-V").output();
        assert!(
            installed.is_ok_and(|output| output.status.success()),
            "tmux is not installed: run scripts/setup-system.sh (CI installs it)"
        );
        let terminal = Terminal {
            dir: tempfile::tempdir().unwrap(),
        };
        let command = command(terminal.dir.path());
        let dir = terminal.dir.path().display().to_string();
        let status = terminal
            .tmux()
            .args(["new-session", "-d", "-s", "confab", "-x", "100", "-y", "30"])
            .args(["-e", &format!("XDG_DATA_HOME={dir}/data")])
            .args(["-e", &format!("XDG_STATE_HOME={dir}/state")])
            .args(["-e", &format!("XDG_CONFIG_HOME={dir}/config")])
            .args(["-e", "CONFAB_PASSWORD=vivian"])
            .arg(command)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed: {status}");
        terminal
    }

    /// A tmux command for this test's server, ignoring any ~/.tmux.conf
    /// and any tmux the tests themselves run in.
    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-f", "/dev/null", "-S"])
            .arg(self.dir.path().join("tmux.socket"))
            .env_remove("TMUX");
        command
    }

    fn run(&self, args: &[&str]) {
        let status = self.tmux().args(args).status().expect("run tmux");
        assert!(status.success(), "tmux {args:?} failed: {status}");
    }

    /// Presses named keys (`Enter`, `Escape`, `j`).
    fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", "confab", key]);
    }

    /// Types text literally, without interpreting key names.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "confab", "-l", text]);
    }

    fn screen(&self) -> String {
        let output = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "confab"])
            .output()
            .expect("run tmux capture-pane");
        assert!(output.status.success(), "tmux capture-pane failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Polls the screen until `ready` accepts it; fails at the deadline,
    /// or at once if confab panicked or exited unasked.
    fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                !screen.contains("panicked") && !screen.contains(EXITED),
                "confab ended while waiting for {what}:\n{screen}"
            );
            assert!(
                Instant::now() < deadline,
                "no {what} on screen within {WAIT:?}; last screen:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |screen| screen.contains(text))
    }

    /// Quits with `q` (from the buddy list) and waits for a clean exit.
    fn quit(&self) {
        self.press("q");
        self.wait_for(&format!("{EXITED}0"));
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// Whether one line of the screen holds all of `texts`: a row's parts,
/// checked together.
fn has_line(screen: &str, texts: &[&str]) -> bool {
    screen
        .lines()
        .any(|line| texts.iter().all(|text| line.contains(text)))
}

/// The status bar: the bottom line.
fn status_bar(screen: &str) -> &str {
    screen.trim_end().lines().last().unwrap_or("")
}

#[test]
fn tui_chats_with_a_demo_buddy_shows_help_survives_a_resize_and_quits() {
    let server = ServerProcess::start_with(&["--demo-buddies"]);
    let terminal = Terminal::start(server.addr);

    // A capture can catch a frame half written, so each wait names all
    // that its step checks.
    terminal.wait_until("Amy online with her note, and Hao busy", |screen| {
        has_line(screen, &["● Amy Rivera", "Demo buddy"]) && screen.contains("◉ Hao Nguyen")
    });
    terminal.wait_until("Signed in as vivian", |screen| {
        let status = status_bar(screen);
        status.contains("Signed in") && status.contains("vivian@confab.local")
    });

    // Amy is the first contact: Enter opens her conversation, input focused.
    terminal.press("Enter");
    terminal.wait_for("Enter send");
    terminal.wait_until("Amy's conversation with her address and note", |screen| {
        screen.contains("Demo buddy: message me, I answer")
            && has_line(screen, &["Amy Rivera", "amy@confab.local"])
    });
    terminal.type_text("Hello from the test");
    terminal.wait_for("Hello from the test");
    terminal.press("Enter");
    terminal.wait_for("Hello from the test ✓");
    terminal.wait_for("demo buddy played by confab");

    // Escape alone, then wait: Escape and a key at once read as Alt-key.
    terminal.press("Escape");
    terminal.wait_for("Tab to write");
    terminal.press("?");
    // Both ends of the help: a capture can catch a frame half written.
    terminal.wait_until("the help drawn", |screen| {
        screen.contains("next contact") && screen.contains("sign out and quit")
    });
    terminal.press("Escape");
    terminal.wait_until("help closed", |screen| !screen.contains("next contact"));

    terminal.run(&["resize-window", "-t", "confab", "-x", "80", "-y", "24"]);
    terminal.wait_until("the layout redrawn at 80x24", |screen| {
        let lines: Vec<&str> = screen.trim_end().lines().collect();
        lines.len() == 24
            && lines.iter().all(|line| line.chars().count() <= 80)
            && lines[0].starts_with("╭ Contacts")
            && lines[0].chars().nth(79) == Some('╮')
            && status_bar(screen).contains("Signed in")
            && screen.contains("Amy Rivera")
            && screen.contains("Hao Nguyen")
    });

    terminal.quit();
}

#[test]
fn tui_sets_busy_and_marks_an_im_to_an_offline_user_not_delivered() {
    // `--demo` only: Amy and Hao exist but nobody signs them in.
    let server = ServerProcess::start();
    let terminal = Terminal::start(server.addr);
    terminal.wait_until("Amy offline, signed in", |screen| {
        screen.contains("○ Amy Rivera") && status_bar(screen).contains("Signed in")
    });

    terminal.press("p");
    terminal.wait_for("Your status");
    terminal.press("j");
    terminal.wait_for("› ◉ Busy");
    terminal.press("Enter");
    terminal.wait_until("Busy and signed in in the status bar", |screen| {
        let status = status_bar(screen);
        !screen.contains("Your status") && status.contains("◉ Busy") && status.contains("Signed in")
    });

    terminal.press("Enter");
    terminal.wait_for("Enter send");
    terminal.type_text("Are you there");
    terminal.wait_for("Are you there");
    terminal.press("Enter");
    let screen = terminal.wait_until("not delivered, with the 480", |screen| {
        has_line(screen, &["✗ not delivered", "480"])
    });
    assert!(!screen.contains("Are you there ✓"), "{screen}");

    terminal.press("Escape");
    terminal.wait_for("Tab to write");
    terminal.quit();
}

#[test]
fn tui_adds_audio_to_an_im_invites_promotes_and_ejects_in_a_conference() {
    let _turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start_with(&["--demo-buddies"]);
    let terminal = Terminal::start(server.addr);
    terminal.wait_until("Amy online, signed in", |screen| {
        screen.contains("● Amy Rivera") && status_bar(screen).contains("Signed in")
    });

    // An IM to Amy, then F6 adds audio, joined by this terminal (Enter
    // on the dialog's first choice): a conference Vivian leads, which
    // dials Amy; her demo buddy answers.
    terminal.press("Enter");
    terminal.wait_for("Enter send");
    terminal.type_text("Can we talk?");
    terminal.press("Enter");
    terminal.wait_for("Can we talk? ✓");
    terminal.press("F6");
    terminal.wait_for("› This terminal");
    terminal.press("Enter");
    terminal.wait_until("Amy in the conference's audio, led by Vivian", |screen| {
        screen.contains("2 people")
            && has_line(screen, &["  Amy Rivera", "connected"])
            && screen.contains("★ Vivian Chen (you)")
            && status_bar(screen).contains("In a conference")
    });

    // Invite Hao from the buddy list.
    terminal.press("Escape");
    terminal.wait_for("Tab to write");
    terminal.press("j");
    terminal.press("i");
    terminal.wait_until("three in the roster", |screen| {
        screen.contains("3 people") && has_line(screen, &["  Hao Nguyen", "connected"])
    });

    // In the roster: promote Amy, then eject Hao after the confirmation.
    terminal.press("Tab");
    terminal.wait_for("X leave");
    terminal.press("g");
    terminal.press("p");
    terminal.wait_for("★ Amy Rivera");
    terminal.press("j");
    terminal.press("d");
    terminal.wait_for("from the conference?");
    terminal.press("y");
    terminal.wait_until("Hao gone from the roster, Amy a leader", |screen| {
        screen.contains("2 people")
            && !screen.contains("  Hao Nguyen  ")
            && screen.contains("★ Amy Rivera")
    });

    // Leave, then quit.
    terminal.press("X");
    terminal.wait_until("the conference left", |screen| !screen.contains("people"));
    terminal.press("Escape");
    terminal.quit();
}

/// A confab that ignores SIGHUP (started under `nohup`, say) whose
/// terminal goes away signs out and exits by itself: reading a terminal
/// that is gone must not keep it running, a core busy, for ever.
#[test]
fn what_libraries_print_to_standard_error_goes_to_the_log_not_over_the_screen() {
    let server = ServerProcess::start();
    let addr = server.addr;
    // ALSA's library prints its errors to standard error; a configuration
    // it cannot read makes it fail, and say so, on any machine.
    let terminal = Terminal::start_with(|_| {
        format!(
            "ALSA_CONFIG_PATH=/nonexistent/alsa.conf '{CONFAB}' --server {addr} --user vivian; \
             echo {EXITED}$?; sleep 60"
        )
    });
    terminal.wait_until("Signed in", |screen| {
        status_bar(screen).contains("Signed in")
    });
    terminal.quit();
    let screen = terminal.screen();
    assert!(!screen.contains("ALSA"), "{screen}");
    let log = terminal.dir.path().join("state/confab/confab.log");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("ALSA lib"), "no ALSA error in the log:\n{log}");
}

#[test]
fn a_terminal_that_hangs_up_ends_confab_even_when_it_ignores_sighup() {
    let server = ServerProcess::start_with(&["--demo-buddies"]);
    let addr = server.addr;
    let terminal = Terminal::start_with(|dir| {
        let pid = dir.join("confab.pid");
        format!(
            "trap '' HUP; echo $$ > '{}'; exec '{CONFAB}' --server {addr} --user vivian",
            pid.display()
        )
    });
    terminal.wait_until("Signed in", |screen| {
        status_bar(screen).contains("Signed in")
    });
    let pid = std::fs::read_to_string(terminal.dir.path().join("confab.pid")).unwrap();
    let pid: u32 = pid.trim().parse().unwrap();
    let (state, cpu_before) = process_stat(pid).expect("confab's /proc entry");
    assert_ne!(state, 'Z', "confab {pid} is not running");

    // Every pane's terminal closes with its tmux server.
    terminal.run(&["kill-server"]);
    let deadline = Instant::now() + WAIT;
    let cpu_after = loop {
        match process_stat(pid) {
            Some(('Z', cpu)) => break Some(cpu),
            None => break None,
            Some(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "confab {pid} still runs {WAIT:?} after its terminal hung up"
        );
        std::thread::sleep(POLL);
    };
    // Signing out takes milliseconds; a reader spinning on the dead
    // terminal until something else ended the process would take a core
    // for as long as it ran.
    if let Some(cpu_after) = cpu_after {
        let spent = cpu_after - cpu_before;
        assert!(
            spent < CLOCK_TICKS_PER_SECOND,
            "confab spent {spent} ticks of CPU between the hang-up and its exit"
        );
    }
}

/// USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// Process `pid`'s state letter and its CPU time so far (user and system,
/// in clock ticks): a zombie keeps both until it is reaped, after which
/// there is nothing (`None`).
fn process_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields follow the command name, which is in parentheses: the
    // state, then utime and stime as the 12th and 13th after it.
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((state, utime + stime))
}
