//! Messages grouped as the trace list shows them: one [`Dialog`] per
//! Call-ID (RFC 3261 §12: a dialog, or the transactions sharing one
//! Call-ID, such as a REGISTER and its refreshes), with its first
//! request's method, From and To, and a state.
//!
//! The state follows the INVITE dialog's life (RFC 3261 §13, §15):
//! calling, ringing on a provisional answer, connected on a 2xx, ended by a
//! BYE, or the final failure; a CANCELled INVITE ends as its 487 says.
//! Other methods show their last final answer (`200 OK`), and a
//! subscription its `Subscription-State` (RFC 6665 §4.1.3) once a NOTIFY
//! has carried one. Messages without a Call-ID share one group.
//!
//! Within a Call-ID, a transaction is its CSeq number and method, which
//! tells a re-INVITE's answer from the first INVITE's ([`Dialog::is_initial`]).

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use super::{StartLine, Summary};

/// The group messages without a Call-ID go to.
pub const NO_CALL_ID: &str = "(no Call-ID)";

/// Where a dialog stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogState {
    /// An INVITE sent, no answer yet.
    Calling,
    /// A provisional answer to the INVITE.
    Ringing,
    /// A 2xx to the INVITE.
    Connected,
    /// A BYE.
    Ended,
    /// A final failure (or the 487 of a CANCEL).
    Failed { code: u16, reason: String },
    /// A request other than INVITE, no final answer yet.
    Waiting,
    /// The last final answer to a request other than INVITE.
    Answered { code: u16, reason: String },
    /// The subscription's state as the last NOTIFY gave it.
    Subscription(String),
}

impl DialogState {
    pub fn label(&self) -> String {
        match self {
            DialogState::Calling => "calling".into(),
            DialogState::Ringing => "ringing".into(),
            DialogState::Connected => "connected".into(),
            DialogState::Ended => "ended".into(),
            DialogState::Failed { code, reason } => format!("failed {code} {reason}"),
            DialogState::Waiting => "waiting".into(),
            DialogState::Answered { code, reason } => format!("{code} {reason}"),
            DialogState::Subscription(state) => state.clone(),
        }
    }
}

/// The messages of one Call-ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// The first request's method (or what the first message's CSeq says).
    pub method: String,
    /// The first request's From and To URIs.
    pub from: String,
    pub to: String,
    pub state: DialogState,
    pub first_at: SystemTime,
    pub last_at: SystemTime,
    /// The messages, by the caller's sequence numbers, in order.
    pub messages: Vec<u64>,
    /// Every method seen in it, requests' and answered ones'.
    pub methods: BTreeSet<String>,
    /// The CSeq of the first request, to tell the dialog-forming
    /// transaction from those that follow.
    first_cseq: Option<(u32, String)>,
}

impl Dialog {
    fn new(call_id: String, at: SystemTime, summary: &Summary) -> Dialog {
        Dialog {
            call_id,
            method: summary.method().unwrap_or("?").to_owned(),
            from: summary.from.clone().unwrap_or_default(),
            to: summary.to.clone().unwrap_or_default(),
            state: DialogState::Waiting,
            first_at: at,
            last_at: at,
            messages: Vec::new(),
            methods: BTreeSet::new(),
            first_cseq: None,
        }
    }

    /// Whether `summary` belongs to the transaction that made the dialog.
    pub fn is_initial(&self, summary: &Summary) -> bool {
        match (&self.first_cseq, summary.cseq, &summary.cseq_method) {
            (Some((number, method)), Some(cseq), Some(cseq_method)) => {
                *number == cseq && method == cseq_method
            }
            _ => true,
        }
    }

    fn observe(&mut self, seq: u64, at: SystemTime, summary: &Summary) {
        self.messages.push(seq);
        self.last_at = self.last_at.max(at);
        if let Some(method) = summary.method() {
            self.methods.insert(method.to_owned());
        }
        if summary.is_request() && self.first_cseq.is_none() {
            // The first request names the dialog, even after a stray
            // response (a trace that started mid-transaction).
            if let (Some(cseq), Some(method)) = (summary.cseq, summary.cseq_method.clone()) {
                self.first_cseq = Some((cseq, method));
            }
            self.method = summary.method().unwrap_or("?").to_owned();
            self.from = summary.from.clone().unwrap_or_default();
            self.to = summary.to.clone().unwrap_or_default();
        }
        self.state = next_state(&self.state, &self.method, self.is_initial(summary), summary);
    }
}

/// The state after one more message.
fn next_state(
    state: &DialogState,
    dialog_method: &str,
    initial: bool,
    summary: &Summary,
) -> DialogState {
    let method = summary.method().unwrap_or("");
    let settled = matches!(state, DialogState::Connected | DialogState::Ended);
    if dialog_method == "INVITE" {
        return match (&summary.start, method) {
            (StartLine::Request { .. }, "BYE") => DialogState::Ended,
            // A re-INVITE changes nothing; a new INVITE after a challenge
            // calls again.
            (StartLine::Request { .. }, "INVITE") if !settled => DialogState::Calling,
            (StartLine::Response { code, reason }, "INVITE") => match code {
                101..=199 if *state == DialogState::Calling => DialogState::Ringing,
                200..=299 if *state != DialogState::Ended => DialogState::Connected,
                300..=699 if !settled => DialogState::Failed {
                    code: *code,
                    reason: reason.clone(),
                },
                _ => state.clone(),
            },
            _ => state.clone(),
        };
    }
    let subscribed = matches!(state, DialogState::Subscription(_));
    match &summary.start {
        StartLine::Request { .. } if method == "NOTIFY" => match &summary.subscription_state {
            Some(subscription) => DialogState::Subscription(subscription.clone()),
            None => state.clone(),
        },
        // Answers to NOTIFYs and refreshes say nothing the NOTIFY did not.
        StartLine::Response { code, reason } if *code >= 200 && !subscribed => {
            DialogState::Answered {
                code: *code,
                reason: reason.clone(),
            }
        }
        StartLine::Request { .. } if initial && !subscribed => DialogState::Waiting,
        _ => state.clone(),
    }
}

/// Every dialog of a trace, in the order their first messages came.
#[derive(Debug, Clone, Default)]
pub struct Dialogs {
    list: Vec<Dialog>,
    by_call_id: HashMap<String, usize>,
}

impl Dialogs {
    pub fn new() -> Dialogs {
        Dialogs::default()
    }

    /// Adds message `seq` (numbers rise with every message); returns the
    /// index of its dialog.
    pub fn push(&mut self, seq: u64, at: SystemTime, summary: &Summary) -> usize {
        let call_id = summary
            .call_id
            .clone()
            .unwrap_or_else(|| NO_CALL_ID.to_owned());
        let index = match self.by_call_id.get(&call_id) {
            Some(index) => *index,
            None => {
                let index = self.list.len();
                self.by_call_id.insert(call_id.clone(), index);
                self.list.push(Dialog::new(call_id, at, summary));
                index
            }
        };
        if let Some(dialog) = self.list.get_mut(index) {
            dialog.observe(seq, at, summary);
        }
        index
    }

    pub fn list(&self) -> &[Dialog] {
        &self.list
    }

    pub fn get(&self, call_id: &str) -> Option<&Dialog> {
        self.by_call_id
            .get(call_id)
            .and_then(|index| self.list.get(*index))
    }

    pub fn index_of(&self, call_id: &str) -> Option<usize> {
        self.by_call_id.get(call_id).copied()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
