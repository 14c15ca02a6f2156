//! Interoperability with a real registrar and proxy: two `confab agent`s
//! registered to Kamailio 5.6 (benches/peers/kamailio/registrar.cfg, digest
//! auth over a db_text user table, requests to a registered AOR proxied to
//! its contacts with lookup + t_relay) on a loopback port. Covers digest
//! authentication of REGISTER (401) and MESSAGE (407) against another
//! implementation, MESSAGE (RFC 3428) relayed to a registered user and
//! refused for an unregistered one, and the buddy list kept by the client
//! once a plain registrar refuses `Event: vnd.confab.contacts`.
//!
//! Kamailio runs in its own process group and the whole group is killed when
//! the guard drops, also on a failed assertion; its log goes to stderr then.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::harness::{AgentProcess, free_port, repo_path, wait_until_answering};

const WAIT: Duration = Duration::from_secs(10);
/// The directory Kamailio authenticates against: password = user name.
const USERS: [&str; 3] = ["vivian", "amy", "hao"];

/// A Kamailio on 127.0.0.1, its runtime files in a temporary directory.
struct Kamailio {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Kamailio {
    fn start() -> Kamailio {
        let binary = kamailio_binary().unwrap_or_else(|| {
            panic!("kamailio is not installed: run scripts/setup-system.sh (it installs Debian's kamailio 5.6)")
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        // db_text tables: a typed header line, then ':'-separated rows; the
        // table's schema version sits in the "version" table.
        let rows: String = USERS
            .iter()
            .map(|user| format!("{user}:{user}\n"))
            .collect();
        std::fs::write(
            db.join("subscriber"),
            format!("username(str) password(str)\n{rows}"),
        )
        .unwrap();
        std::fs::write(
            db.join("version"),
            "table_name(str) table_version(int)\nsubscriber:7\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("kamailio.log")).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        // As benches/peers/lib.sh `kamailio_start` runs it, with less memory.
        let child = Command::new(binary)
            .arg("-f")
            .arg(repo_path("benches/peers/kamailio/registrar.cfg"))
            .args(["-DD", "-E", "-n", "2", "-m", "64"])
            .args(["-l", &format!("udp:{addr}"), "-l", &format!("tcp:{addr}")])
            .arg("-Y")
            .arg(dir.path().join("run"))
            .arg("-P")
            .arg(dir.path().join("run/kamailio.pid"))
            .args(["-A", "WITH_AUTH", "-A"])
            .arg(format!("USERS_DB_URL=\"text://{}\"", db.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own group, so that the forked workers die with it.
            .process_group(0)
            .spawn()
            .expect("spawn kamailio");
        let mut kamailio = Kamailio { child, addr, dir };
        // OPTIONS to the server itself: the config's keep-alive route.
        let to_itself = format!("sip:{addr}");
        if let Err(status) = wait_until_answering(&mut kamailio.child, addr, &to_itself) {
            panic!("kamailio exited ({status}) before answering");
        }
        kamailio
    }

    /// An agent for `user` (password = user name), once it has registered.
    fn agent(&self, user: &str) -> AgentProcess {
        let agent = AgentProcess::start(user, self.addr, user, user, &[]);
        agent.expect("registered", WAIT);
        agent
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("kamailio.log"))
                .unwrap_or_else(|error| format!("(unreadable: {error})"));
            eprintln!("---- kamailio log ({}) ----\n{log}", self.addr);
        }
    }
}

/// `kamailio` on PATH or in the sbin directories Debian installs it to
/// (not always on a user's PATH).
fn kamailio_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("kamailio"))
        .find(|candidate| candidate.is_file())
}

#[test]
fn agents_register_exchange_ims_and_keep_their_buddy_list_through_kamailio() {
    let kamailio = Kamailio::start();
    let mut vivian = kamailio.agent("vivian");
    // Kamailio does not know the contacts package: it relays the SUBSCRIBE
    // to vivian's own AOR back to her contact, whose 405 ends it, and the
    // (empty) list becomes the client's own. Awaited first: later waits skip other events.
    let initial = vivian.expect("buddies", WAIT);
    assert_eq!(initial["buddies"], json!([]), "{initial}");
    let amy = kamailio.agent("amy");

    // MESSAGE: 407, resent with credentials, looked up and relayed to amy.
    vivian.send(
        json!({"cmd": "im", "to": "sip:amy@confab.local", "text": "Through Kamailio ✓", "id": 1}),
    );
    let message = amy.expect("im", WAIT);
    assert_eq!(message["from"], "sip:vivian@confab.local", "{message}");
    assert_eq!(message["text"], "Through Kamailio ✓");
    let status = vivian.expect_where("im_status", WAIT, |event| event["id"] == 1);
    assert_eq!(status["delivered"], true, "{status}");
    assert_eq!(status["to"], "sip:amy@confab.local", "{status}");

    // hao is in the directory but not registered: lookup fails (404).
    vivian.send(
        json!({"cmd": "im", "to": "sip:hao@confab.local", "text": "are you there?", "id": 2}),
    );
    let status = vivian.expect_where("im_status", WAIT, |event| event["id"] == 2);
    assert_eq!(status["delivered"], false, "{status}");
    assert_eq!(status["to"], "sip:hao@confab.local", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "no reason given: {status}"
    );

    // The list is local now: a change is reported straight back.
    vivian.send(json!({"cmd": "buddy.add", "uri": "sip:amy@confab.local", "group": "Team"}));
    let buddies = vivian.expect("buddies", WAIT);
    let list = buddies["buddies"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{buddies}");
    assert_eq!(list[0]["uri"], "sip:amy@confab.local", "{buddies}");
    assert_eq!(list[0]["group"], "Team", "{buddies}");
}
