//! The key table: every key the UI answers to, in one place.
//!
//! [`BINDINGS`] holds the default keys. A [`KeyMap`] is that table with
//! the user's rebindings from the config file applied ([`KeyMap::new`]); it
//! both dispatches keys ([`KeyMap::action`]) and writes the help overlay
//! ([`KeyMap::bindings`]), so a key cannot work without being listed, nor
//! be listed without working. The one exception is [`Action::Edit`]: those
//! rows describe the line editing that tui-input does for every text field
//! (dispatched by `tui_input::backend::crossterm::to_input_request`); a
//! test checks that each one listed is one tui-input really handles.
//!
//! Keys work for vim users and arrow users alike: every motion has both.
//!
//! The keys of a call ([`Context::Call`]) are Ctrl keys, so they work in
//! every pane and dialog while a call is on, the conversation input
//! included, without taking a character from the text.
//!
//! The conference roster has two contexts: [`Context::Roster`], for
//! everyone in the conference, and [`Context::Leader`], consulted before
//! it only while we lead the conference (RFC 4575 role `presenter`).
//! [`Action::is_leaders`] names the actions only a leader has, wherever
//! they are bound, so that neither the help nor the hints offer them to an
//! attendee.

mod map;

use std::borrow::Cow;

pub use map::{KeyError, KeyMap, action_for};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed; each context has its own bindings, and
/// [`Context::Anywhere`] is consulted after the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Anywhere,
    Buddies,
    Conversation,
    /// The conference roster, for everyone in the conference.
    Roster,
    /// The conference roster's leader actions, consulted before
    /// [`Context::Roster`] while we lead the conference.
    Leader,
    /// While a call is on, consulted before the current context.
    Call,
    /// The incoming-call banner, which takes the keys while it shows;
    /// the conference invitation's too.
    Incoming,
    /// The DTMF keypad of the call bar.
    DialPad,
    Editing,
    Picker,
    Form,
    Confirm,
    /// The "Add audio" dialog's list of ways to join the audio.
    AddAudio,
    Search,
    Help,
    /// The SIP trace pane.
    Trace,
    /// The trace pane's text filter, while it is typed.
    TraceFilter,
}

impl Context {
    /// Every context, in the order the help overlay lists them.
    pub const ALL: [Context; 17] = [
        Context::Buddies,
        Context::Conversation,
        Context::Roster,
        Context::Leader,
        Context::Call,
        Context::Incoming,
        Context::DialPad,
        Context::Editing,
        Context::Anywhere,
        Context::Picker,
        Context::Form,
        Context::Confirm,
        Context::AddAudio,
        Context::Search,
        Context::Trace,
        Context::TraceFilter,
        Context::Help,
    ];

    /// Whether a text field has the keys here: unbound keys edit it
    /// ([`Context::Editing`]) and plain characters are typed into it.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::Conversation
                | Context::DialPad
                | Context::Form
                | Context::Search
                | Context::TraceFilter
        )
    }

    /// The heading of its section in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Anywhere => "Anywhere",
            Context::Buddies => "Contacts",
            Context::Conversation => "Conversation",
            Context::Roster => "Conference roster",
            Context::Leader => "Conference leader",
            Context::Call => "During a call",
            Context::Incoming => "Incoming call or invitation",
            Context::DialPad => "Dial tones",
            Context::Editing => "Editing text",
            Context::Picker => "Status picker",
            Context::Form => "Contact form",
            Context::Confirm => "Confirmation",
            Context::AddAudio => "Add audio",
            Context::Search => "History search",
            Context::Trace => "SIP trace",
            Context::TraceFilter => "Trace filter",
            Context::Help => "This help",
        }
    }
}

/// What a key means in its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ShowHelp,
    Up,
    Down,
    Top,
    Bottom,
    Open,
    Collapse,
    ToggleGroup,
    AddBuddy,
    RemoveBuddy,
    MoveBuddy,
    PickPresence,
    EditNote,
    Search,
    SwitchFocus,
    Send,
    Newline,
    Back,
    PageUp,
    PageDown,
    Accept,
    Cancel,
    NextField,
    PreviousField,
    Yes,
    No,
    /// Call the selected contact, or the open conversation's peer.
    Call,
    /// Ask for any address or user name, and call it.
    CallAddress,
    /// Hang up, cancel our call, or decline a ringing one.
    HangUp,
    /// Hold the call, or resume it.
    Hold,
    /// Mute our microphone, or unmute it.
    Mute,
    /// Open (or close) the DTMF keypad.
    DialTones,
    Answer,
    Decline,
    /// Turn the IM with a contact into a conference with audio, after
    /// asking how to join the audio.
    Escalate,
    /// Add audio: by this terminal's sound devices.
    ViaTerminal,
    /// Add audio: the A/V MCU calls our work number.
    ViaWorkNumber,
    /// Add audio: type a number for the A/V MCU to call.
    ViaOtherNumber,
    /// Leader: have the conference dial out to a contact or an address.
    Invite,
    /// Leader: remove the selected participant (after a confirmation).
    Eject,
    /// Leader: make the selected participant a leader, or an attendee.
    ToggleRole,
    /// Leader: mute the selected participant at the mixer, or unmute.
    MuteUser,
    /// Leader: lock the conference, or open it again.
    Lock,
    /// Leader: end the conference for everyone (after a confirmation).
    EndConference,
    /// Leave the conference.
    Leave,
    /// Show the SIP trace pane, or close it.
    ShowTrace,
    /// Close the SIP trace pane (the trace viewer: quit).
    CloseTrace,
    /// The trace's method filter: the next method seen, or all.
    TraceMethod,
    /// The ladder: the selected dialog, or every dialog listed.
    TraceScope,
    /// Line editing, done by tui-input; listed for the help overlay.
    Edit,
}

impl Action {
    /// Whether only a conference leader may do it (RFC 4575 role
    /// `presenter`; the focus refuses an attendee with `forbidden`).
    pub fn is_leaders(self) -> bool {
        matches!(
            self,
            Action::Invite
                | Action::Eject
                | Action::ToggleRole
                | Action::MuteUser
                | Action::Lock
                | Action::EndConference
        )
    }
}

/// One key with its modifiers, as a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    const fn ctrl(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::CONTROL,
        }
    }

    const fn alt(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::ALT,
        }
    }

    const fn shift(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::SHIFT,
        }
    }

    /// Whether a pressed key is this one. Shift is ignored where it is
    /// part of the key: terminals disagree on whether `?` or `G` come with
    /// it, and crossterm reports Shift-Tab as BackTab with it.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let mut modifiers = event.modifiers;
        if matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers.remove(KeyModifiers::SHIFT);
        }
        self.code == event.code && self.modifiers == modifiers
    }

    /// How the help overlay writes it.
    pub fn label(&self) -> String {
        let mut label = String::new();
        for (flag, name) in [
            (KeyModifiers::CONTROL, "Ctrl-"),
            (KeyModifiers::ALT, "Alt-"),
            (KeyModifiers::SHIFT, "Shift-"),
        ] {
            if self.modifiers.contains(flag) {
                label.push_str(name);
            }
        }
        match self.code {
            KeyCode::Char(' ') => label.push_str("Space"),
            KeyCode::Char(c) => label.push(c),
            KeyCode::Up => label.push('↑'),
            KeyCode::Down => label.push('↓'),
            KeyCode::Left => label.push('←'),
            KeyCode::Right => label.push('→'),
            KeyCode::Enter => label.push_str("Enter"),
            KeyCode::Esc => label.push_str("Esc"),
            KeyCode::Tab => label.push_str("Tab"),
            KeyCode::BackTab => label.push_str("Shift-Tab"),
            KeyCode::PageUp => label.push_str("PgUp"),
            KeyCode::PageDown => label.push_str("PgDn"),
            KeyCode::Home => label.push_str("Home"),
            KeyCode::End => label.push_str("End"),
            KeyCode::Backspace => label.push_str("Bksp"),
            KeyCode::Delete => label.push_str("Del"),
            KeyCode::F(n) => label.push_str(&format!("F{n}")),
            other => label.push_str(&format!("{other:?}")),
        }
        label
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    /// Borrowed from [`BINDINGS`]; owned once rebound.
    pub keys: Cow<'static, [Key]>,
    pub action: Action,
    pub help: &'static str,
}

impl Binding {
    /// Its keys as the help overlay writes them: `j ↓`.
    pub fn keys_label(&self) -> String {
        let labels: Vec<String> = self.keys.iter().map(Key::label).collect();
        labels.join(" ")
    }
}

use Action as A;
use Context as C;
use KeyCode::{
    BackTab, Backspace, Char, Delete, Down, End, Enter, Esc, F, Home, Left, PageDown, PageUp,
    Right, Tab, Up,
};

const fn ch(c: char) -> Key {
    Key::plain(Char(c))
}

const fn ctrl(c: char) -> Key {
    Key::ctrl(Char(c))
}

const fn key(code: KeyCode) -> Key {
    Key::plain(code)
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        context,
        keys: Cow::Borrowed(keys),
        action,
        help,
    }
}

/// Every key of the UI by default, one binding a line.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(C::Anywhere,     &[ctrl('c')], A::Quit, "sign out and quit"),
    bind(C::Anywhere,     &[key(F(1))], A::ShowHelp, "this help"),
    bind(C::Anywhere,     &[key(F(9))], A::ShowTrace, "SIP trace"),
    bind(C::Buddies,      &[ch('j'), key(Down)], A::Down, "next contact"),
    bind(C::Buddies,      &[ch('k'), key(Up)], A::Up, "previous contact"),
    bind(C::Buddies,      &[ch('g'), key(Home)], A::Top, "first row"),
    bind(C::Buddies,      &[ch('G'), key(End)], A::Bottom, "last row"),
    bind(C::Buddies,      &[key(Enter), ch('l'), key(Right)], A::Open, "open / expand group"),
    bind(C::Buddies,      &[ch('h'), key(Left)], A::Collapse, "collapse group"),
    bind(C::Buddies,      &[ch(' ')], A::ToggleGroup, "fold / unfold group"),
    bind(C::Buddies,      &[key(Tab)], A::SwitchFocus, "go to the conversation"),
    bind(C::Buddies,      &[ch('c'), key(F(5))], A::Call, "call contact"),
    bind(C::Buddies,      &[ch('C')], A::CallAddress, "call an address"),
    bind(C::Buddies,      &[ch('#')], A::DialTones, "dial tones (DTMF)"),
    bind(C::Buddies,      &[ch('A'), key(F(6))], A::Escalate, "add audio (conference)"),
    bind(C::Buddies,      &[ch('i')], A::Invite, "invite to conference"),
    bind(C::Buddies,      &[ch('a')], A::AddBuddy, "add a contact"),
    bind(C::Buddies,      &[ch('m')], A::MoveBuddy, "move or rename contact"),
    bind(C::Buddies,      &[ch('d')], A::RemoveBuddy, "remove contact"),
    bind(C::Buddies,      &[ch('p')], A::PickPresence, "set your status"),
    bind(C::Buddies,      &[ch('n')], A::EditNote, "edit your note"),
    bind(C::Buddies,      &[ch('/')], A::Search, "search history"),
    bind(C::Buddies,      &[ch('T')], A::ShowTrace, "SIP trace"),
    bind(C::Buddies,      &[ch('?')], A::ShowHelp, "this help"),
    bind(C::Buddies,      &[ch('q')], A::Quit, "sign out and quit"),
    bind(C::Conversation, &[key(Enter)], A::Send, "send message"),
    bind(C::Conversation, &[Key::alt(Enter), Key::shift(Enter), ctrl('j')],
         A::Newline, "new line in message"),
    bind(C::Conversation, &[key(PageUp)], A::PageUp, "older messages"),
    bind(C::Conversation, &[key(PageDown)], A::PageDown, "newer messages"),
    bind(C::Conversation, &[key(Tab)], A::SwitchFocus, "go to contacts"),
    bind(C::Conversation, &[key(Esc)], A::Back, "back to contacts"),
    bind(C::Conversation, &[key(F(5))], A::Call, "call this contact"),
    bind(C::Conversation, &[key(F(6))], A::Escalate, "add audio (conference)"),
    bind(C::Roster,       &[ch('j'), key(Down)], A::Down, "next participant"),
    bind(C::Roster,       &[ch('k'), key(Up)], A::Up, "previous participant"),
    bind(C::Roster,       &[ch('g'), key(Home)], A::Top, "first participant"),
    bind(C::Roster,       &[ch('G'), key(End)], A::Bottom, "last participant"),
    bind(C::Roster,       &[key(Enter)], A::Open, "the conference IM"),
    bind(C::Roster,       &[key(Tab)], A::SwitchFocus, "go to the conversation"),
    bind(C::Roster,       &[key(Esc)], A::Back, "back to contacts"),
    bind(C::Roster,       &[ch('X')], A::Leave, "leave the conference"),
    bind(C::Roster,       &[ch('?')], A::ShowHelp, "this help"),
    bind(C::Leader,       &[ch('m')], A::MuteUser, "mute / unmute someone"),
    bind(C::Leader,       &[ch('d')], A::Eject, "remove participant"),
    bind(C::Leader,       &[ch('p')], A::ToggleRole, "make leader / attendee"),
    bind(C::Leader,       &[ch('i')], A::Invite, "invite address/number"),
    bind(C::Leader,       &[ch('L')], A::Lock, "lock / unlock"),
    bind(C::Leader,       &[ch('E')], A::EndConference, "end it for everyone"),
    bind(C::Call,         &[ctrl('x')], A::HangUp, "hang up / cancel"),
    bind(C::Call,         &[ctrl('z')], A::Hold, "hold / resume"),
    bind(C::Call,         &[ctrl('t')], A::Mute, "mute / unmute"),
    bind(C::Call,         &[ctrl('d')], A::DialTones, "dial tones (DTMF)"),
    bind(C::Incoming,     &[ch('y'), key(Enter)], A::Answer, "answer"),
    bind(C::Incoming,     &[ch('n'), key(Esc)], A::Decline, "decline"),
    bind(C::DialPad,      &[key(Enter)], A::Accept, "send the tones"),
    bind(C::DialPad,      &[key(Esc)], A::Cancel, "close the keypad"),
    bind(C::Editing,      &[key(Left), key(Right)], A::Edit, "move by character"),
    bind(C::Editing,      &[Key::ctrl(Left), Key::ctrl(Right)], A::Edit, "move by word"),
    bind(C::Editing,      &[key(Home), ctrl('a')], A::Edit, "start of line"),
    bind(C::Editing,      &[key(End), ctrl('e')], A::Edit, "end of line"),
    bind(C::Editing,      &[key(Backspace), key(Delete)], A::Edit, "delete character"),
    bind(C::Editing,      &[ctrl('w')], A::Edit, "delete word before"),
    bind(C::Editing,      &[ctrl('u')], A::Edit, "delete whole line"),
    bind(C::Editing,      &[ctrl('k')], A::Edit, "delete to end"),
    bind(C::Editing,      &[ctrl('y')], A::Edit, "paste deleted text"),
    bind(C::Picker,       &[ch('j'), key(Down)], A::Down, "next status"),
    bind(C::Picker,       &[ch('k'), key(Up)], A::Up, "previous status"),
    bind(C::Picker,       &[key(Enter)], A::Accept, "choose"),
    bind(C::Picker,       &[key(Esc), ch('q')], A::Cancel, "cancel"),
    bind(C::Form,         &[key(Tab), key(Down)], A::NextField, "next field"),
    bind(C::Form,         &[key(BackTab), key(Up)], A::PreviousField, "previous field"),
    bind(C::Form,         &[key(Enter)], A::Accept, "save"),
    bind(C::Form,         &[key(Esc)], A::Cancel, "cancel"),
    bind(C::Confirm,      &[ch('y'), key(Enter)], A::Yes, "yes"),
    bind(C::Confirm,      &[ch('n'), key(Esc)], A::No, "no"),
    bind(C::AddAudio,     &[ch('j'), key(Down)], A::Down, "next choice"),
    bind(C::AddAudio,     &[ch('k'), key(Up)], A::Up, "previous choice"),
    bind(C::AddAudio,     &[key(Enter)], A::Accept, "choose"),
    bind(C::AddAudio,     &[ch('t')], A::ViaTerminal, "by this terminal"),
    bind(C::AddAudio,     &[ch('w')], A::ViaWorkNumber, "call my work number"),
    bind(C::AddAudio,     &[ch('o')], A::ViaOtherNumber, "call another number"),
    bind(C::AddAudio,     &[key(Esc)], A::Cancel, "cancel"),
    bind(C::Search,       &[key(Down), ctrl('n')], A::Down, "next result"),
    bind(C::Search,       &[key(Up), ctrl('p')], A::Up, "previous result"),
    bind(C::Search,       &[key(Enter)], A::Accept, "open its conversation"),
    bind(C::Search,       &[key(Esc)], A::Cancel, "close"),
    bind(C::Trace,        &[ch('j'), key(Down)], A::Down, "next dialog / message"),
    bind(C::Trace,        &[ch('k'), key(Up)], A::Up, "previous (no follow)"),
    bind(C::Trace,        &[ch('g'), key(Home)], A::Top, "first"),
    bind(C::Trace,        &[ch('G'), key(End)], A::Bottom, "newest, and follow"),
    bind(C::Trace,        &[key(PageUp)], A::PageUp, "page up"),
    bind(C::Trace,        &[key(PageDown)], A::PageDown, "page down"),
    bind(C::Trace,        &[key(Enter)], A::Open, "ladder / whole message"),
    bind(C::Trace,        &[key(Tab)], A::SwitchFocus, "list / ladder"),
    bind(C::Trace,        &[key(Esc)], A::Back, "back"),
    bind(C::Trace,        &[ch('m')], A::TraceMethod, "filter by method"),
    bind(C::Trace,        &[ch('/')], A::Search, "filter by text"),
    bind(C::Trace,        &[ch('a')], A::TraceScope, "ladder: dialog / all"),
    bind(C::Trace,        &[ch('?')], A::ShowHelp, "this help"),
    bind(C::Trace,        &[ch('q')], A::CloseTrace, "close the trace"),
    bind(C::TraceFilter,  &[key(Enter)], A::Accept, "apply the filter"),
    bind(C::TraceFilter,  &[key(Esc)], A::Cancel, "clear the filter"),
    bind(C::Help,         &[ch('j'), key(Down)], A::Down, "scroll down"),
    bind(C::Help,         &[ch('k'), key(Up)], A::Up, "scroll up"),
    bind(C::Help,         &[key(Esc), ch('q'), ch('?')], A::Cancel, "close"),
];
