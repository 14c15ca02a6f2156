//! What the server benches share: a server core as `confab serve` makes
//! one, over an in-memory directory of users `user0000`, `user0001`, …
//! whose passwords are their names (as benches/peers' directories).

use confab::server::{Server, ServerConfig};
use confab::store::{Contacts, Directory, NewUser};

pub const DOMAIN: &str = "confab.local";

/// A server of `users` users, challenging requests unless `no_auth`.
pub fn server(users: usize, no_auth: bool) -> Server {
    let directory = Directory::open_in_memory().expect("an in-memory directory");
    for index in 0..users {
        directory
            .add_user(&NewUser {
                username: format!("user{index:04}"),
                domain: DOMAIN.into(),
                password: format!("user{index:04}"),
                display_name: format!("User {index}"),
                work_number: None,
            })
            .expect("a new user");
    }
    let server = Server::new(
        ServerConfig {
            domain: DOMAIN.into(),
            local: "127.0.0.1:5060".parse().expect("an address"),
            trusted_peers: Vec::new(),
            seed: 1,
            pstn: None,
            access_number: None,
        },
        Box::new(directory),
        Box::new(Contacts::open_in_memory().expect("an in-memory contact store")),
    );
    if no_auth {
        server.without_authentication()
    } else {
        server
    }
}
