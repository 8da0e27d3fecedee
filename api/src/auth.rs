//! Who is calling, as established by the HTTP layer and read by resolvers.

/// The caller of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: published listings and public fields only.
    #[default]
    Anonymous,
}

impl Caller {
    /// Whether PROFESSIONAL contacts and phone lines are shown to this caller.
    pub fn sees_professional(&self) -> bool {
        match self {
            Caller::Anonymous => false,
        }
    }
}

pub mod jwt;
pub mod password;
