//! Why the registrar refuses a REGISTER, and the response that says so.

/// Why a REGISTER was refused. Each maps to the status code of the response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    #[error("no Call-ID header")]
    MissingCallId,
    #[error("no CSeq header or a malformed one")]
    MalformedCseq,
    #[error("malformed Contact value: {0}")]
    MalformedContact(String),
    #[error("contact URI is not a SIP URI confab can store: {0}")]
    UnsupportedContactUri(String),
    #[error("malformed q parameter: {0}")]
    MalformedQ(String),
    #[error("malformed reg-id parameter: {0}")]
    MalformedRegId(String),
    /// RFC 3261 §10.3 step 6.
    #[error("Contact: * must be the only Contact value")]
    WildcardNotAlone,
    /// RFC 3261 §10.3 step 6.
    #[error("Contact: * requires Expires: 0")]
    WildcardWithoutZeroExpires,
    /// RFC 3261 §10.3 step 7: answered with 423 and Min-Expires.
    #[error("requested expiry {requested} s is below the minimum {min_expires} s")]
    IntervalTooBrief { requested: u32, min_expires: u32 },
    /// Local policy. 403 rather than 503: the refusal does not go away by
    /// retrying later or elsewhere (RFC 3263 failover on 503), the user must
    /// sign out from another client first.
    #[error("the address of record would hold more than {max} bindings")]
    TooManyContacts { max: usize },
    /// RFC 3261 §10.3 step 7: a REGISTER with the Call-ID of a binding and a
    /// CSeq not above it is older than the one that set the binding (the
    /// transaction layer has already absorbed retransmissions), so the update
    /// is aborted and the request fails.
    #[error("CSeq {received} of Call-ID {call_id} is not above the stored {stored}")]
    OutOfOrder {
        call_id: String,
        stored: u32,
        received: u32,
    },
    /// From [`Aor::from_uri`](super::Aor::from_uri).
    #[error("not an address of record: {0}")]
    NotAnAor(String),
}

impl RegistrarError {
    /// The status code of the response that reports this error.
    pub fn status(&self) -> u16 {
        match self {
            RegistrarError::TooManyContacts { .. } => 403,
            RegistrarError::IntervalTooBrief { .. } => 423,
            RegistrarError::OutOfOrder { .. } => 500,
            _ => 400,
        }
    }

    /// The reason phrase of that response.
    pub fn reason_phrase(&self) -> &'static str {
        match self {
            RegistrarError::MissingCallId => "Missing Call-ID",
            RegistrarError::MalformedCseq => "Bad CSeq",
            RegistrarError::MalformedContact(_) => "Bad Contact",
            RegistrarError::UnsupportedContactUri(_) => "Unsupported Contact URI",
            RegistrarError::MalformedQ(_) => "Bad q Value",
            RegistrarError::MalformedRegId(_) => "Bad reg-id",
            RegistrarError::WildcardNotAlone => "Contact * Not Alone",
            RegistrarError::WildcardWithoutZeroExpires => "Contact * Requires Expires 0",
            RegistrarError::IntervalTooBrief { .. } => "Interval Too Brief",
            RegistrarError::TooManyContacts { .. } => "Too Many Contacts",
            RegistrarError::OutOfOrder { .. } => "Out-of-Order REGISTER",
            RegistrarError::NotAnAor(_) => "Bad Address of Record",
        }
    }
}
