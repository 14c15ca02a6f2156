//! The client floor: the least a registered client pays to stay reachable
//! with confab's keep-alive, for the idle row of benches/peers. It signs in
//! once (REGISTER offering keep-alives as confab does, answering a digest
//! challenge with the library's own digest client: that happens before the
//! idle window), then keeps alive as the server granted: a STUN Binding
//! request at 80-100% of the granted interval (RFC 6223, RFC 5626 §4.4.2),
//! or an OPTIONS every interval if nothing was granted, and reads the answer
//! on a blocking socket: one wake-up for the timer, one `send_to`, one
//! `recv_from`. No terminal, no transaction layer, no reading of the answer.

use std::fmt::Write as _;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use confab::proto::digest::DigestClient;
use confab::proto::{message, stun};
use rand::Rng;

/// How long an answer may take before the keep-alive counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// The binding asked for, longer than any benchmark runs.
const EXPIRES: u32 = 3600;

pub struct Account {
    pub server: SocketAddr,
    pub user: String,
    pub password: String,
    pub domain: String,
    pub interval: Duration,
}

/// Signs in, then keeps alive until killed; an error if it cannot sign in
/// or the socket fails.
pub fn run(account: &Account) -> Result<(), String> {
    let socket = UdpSocket::bind(("127.0.0.1", 0)).map_err(|e| format!("bind: {e}"))?;
    socket
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| format!("socket: {e}"))?;
    let local = socket.local_addr().map_err(|e| format!("socket: {e}"))?;
    let granted = register(&socket, local, account)?;
    eprintln!(
        "confab-sipfloor: registered {}@{}, keep-alives {}",
        account.user,
        account.domain,
        match granted {
            Some(keep) => format!("STUN, granted every {} s", keep.as_secs()),
            None => "OPTIONS".into(),
        }
    );
    let mut request = String::with_capacity(512);
    let mut answer = vec![0u8; 65_536];
    let mut cseq = 0u32;
    let mut rng = rand::rng();
    loop {
        cseq = cseq.wrapping_add(1);
        match granted {
            Some(keep) => {
                let interval = keep.min(account.interval);
                std::thread::sleep(interval.mul_f64(rng.random_range(0.8..=1.0)));
                socket
                    .send_to(&stun::binding_request(rng.random()), account.server)
                    .map_err(|e| format!("send: {e}"))?;
            }
            None => {
                std::thread::sleep(account.interval);
                request.clear();
                let _ = write!(
                    request,
                    "OPTIONS sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK-ka-{cseq}\r\n\
                     Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag=floor\r\nTo: <sip:{domain}>\r\n\
                     Call-ID: floor-keepalive@{local}\r\nCSeq: {cseq} OPTIONS\r\nContent-Length: 0\r\n\r\n",
                    domain = account.domain,
                    user = account.user,
                );
                socket
                    .send_to(request.as_bytes(), account.server)
                    .map_err(|e| format!("send: {e}"))?;
            }
        }
        match socket.recv_from(&mut answer) {
            Ok(_) => {}
            // A lost keep-alive is the server's news, not a reason to stop.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                eprintln!("confab-sipfloor: no answer to keep-alive {cseq}");
            }
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
}

/// REGISTER offering keep-alives, and again with credentials if
/// challenged; on a 2xx, the keep-alive interval it granted, if any.
fn register(
    socket: &UdpSocket,
    local: SocketAddr,
    account: &Account,
) -> Result<Option<Duration>, String> {
    let request = |cseq: u32, credentials: &str| {
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {local};rport;branch=z9hG4bK-reg-{cseq};keep\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag=floor\r\nTo: <sip:{user}@{domain}>\r\n\
             Call-ID: floor-register@{local}\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local}>\r\nExpires: {EXPIRES}\r\n{credentials}Content-Length: 0\r\n\r\n",
            domain = account.domain,
            user = account.user,
        )
    };
    let mut answer = vec![0u8; 65_536];
    let mut exchange = |text: String| -> Result<rsip::Response, String> {
        socket
            .send_to(text.as_bytes(), account.server)
            .map_err(|e| format!("send: {e}"))?;
        let (len, _) = socket
            .recv_from(&mut answer)
            .map_err(|e| format!("no answer to REGISTER: {e}"))?;
        match message::parse(answer.get(..len).unwrap_or_default()) {
            Ok(rsip::SipMessage::Response(response)) => Ok(response),
            Ok(rsip::SipMessage::Request(_)) => Err("a request instead of an answer".into()),
            Err(e) => Err(format!("unreadable answer to REGISTER: {e}")),
        }
    };
    let mut response = exchange(request(1, ""))?;
    if matches!(response.status_code.code(), 401 | 407) {
        let uri = rsip::Uri::try_from(format!("sip:{}", account.domain))
            .map_err(|e| format!("domain {}: {e}", account.domain))?;
        let credentials: String = DigestClient::new(&account.user, &account.password)
            .answer(&mut rand::rng(), &response, &rsip::Method::Register, &uri)
            .map_err(|e| format!("digest: {e}"))?
            .iter()
            .map(|header| format!("{header}\r\n"))
            .collect();
        response = exchange(request(2, &credentials))?;
    }
    match response.status_code.code() {
        200..=299 => Ok(stun::granted_keep(&response)),
        code => Err(format!("REGISTER answered {code}")),
    }
}
