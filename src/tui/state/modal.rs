//! The dialogs' state: which one is open and what is typed in it.
//!
//! The "Add audio" dialog ([`AddAudio`]) keeps its choice by name, not by
//! row, so a work number provisioned while it is open does not move the
//! selection to another way of joining.

use tui_input::Input;

use super::super::history::LoggedMessage;

/// The field of the contact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Uri,
    Display,
    Group,
}

impl FormField {
    pub const ALL: [FormField; 3] = [FormField::Uri, FormField::Display, FormField::Group];
}

/// The add-contact form, also used to move or rename one.
#[derive(Debug, Clone, Default)]
pub struct BuddyForm {
    /// The contact being moved or renamed; its URI is not editable.
    pub editing: Option<String>,
    pub uri: Input,
    pub display: Input,
    pub group: Input,
    pub field: usize,
    pub error: Option<String>,
}

impl BuddyForm {
    pub fn current(&self) -> FormField {
        FormField::ALL[self.field % FormField::ALL.len()]
    }

    pub fn input(&self, field: FormField) -> &Input {
        match field {
            FormField::Uri => &self.uri,
            FormField::Display => &self.display,
            FormField::Group => &self.group,
        }
    }

    pub fn input_mut(&mut self, field: FormField) -> &mut Input {
        match field {
            FormField::Uri => &mut self.uri,
            FormField::Display => &mut self.display,
            FormField::Group => &mut self.group,
        }
    }
}

/// The history search overlay.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub query: Input,
    pub results: Vec<LoggedMessage>,
    pub selected: usize,
}

/// A way to join the audio of the conference an IM becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioChoice {
    /// This terminal's sound devices: a call to the A/V MCU.
    Terminal,
    /// The provisioned work number, which the A/V MCU calls.
    WorkNumber,
    /// A number typed in, which the A/V MCU calls.
    OtherNumber,
}

impl AudioChoice {
    /// The choices offered, in their order: the work number only when
    /// the server provisioned one.
    pub fn offered(work_number: Option<&str>) -> Vec<AudioChoice> {
        let mut choices = vec![AudioChoice::Terminal];
        if work_number.is_some() {
            choices.push(AudioChoice::WorkNumber);
        }
        choices.push(AudioChoice::OtherNumber);
        choices
    }
}

/// The "Add audio" dialog: how to join the audio of the conference the
/// IM with `with` becomes, before anything is started.
#[derive(Debug, Clone)]
pub struct AddAudio {
    /// The peer of the IM being escalated.
    pub with: String,
    pub selected: AudioChoice,
    /// The number for "Another number…", kept when the list has the
    /// keys again.
    pub number: Input,
    /// The number's field has the keys (and shows), not the list.
    pub typing: bool,
}

impl AddAudio {
    /// Opened on "This terminal".
    pub fn new(with: &str) -> AddAudio {
        AddAudio {
            with: with.to_owned(),
            selected: AudioChoice::Terminal,
            number: Input::default(),
            typing: false,
        }
    }
}

/// A dialog over the main screen; it takes every key while open.
/// `CallPrompt` asks for any address or user name to call, `InvitePrompt`
/// for an address or a number the conference dials out to.
#[derive(Debug, Clone)]
pub enum Modal {
    Help {
        scroll: u16,
    },
    PresencePicker {
        selected: usize,
    },
    NoteEditor {
        input: Input,
    },
    CallPrompt {
        input: Input,
    },
    BuddyForm(BuddyForm),
    ConfirmRemove {
        uri: String,
    },
    InvitePrompt {
        input: Input,
    },
    /// Remove this participant from the conference?
    ConfirmEject {
        uri: String,
    },
    /// End the conference for everyone?
    ConfirmEnd,
    /// How to join the audio of a conference about to start.
    AddAudio(AddAudio),
    Search(Search),
}
