//! The dialogs' state: which one is open and what is typed in it.

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
    Search(Search),
}
