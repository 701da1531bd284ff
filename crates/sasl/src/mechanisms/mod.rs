//! The server-side mechanism state machines, one file each.

pub mod anonymous;
mod gs2;
pub mod oauthbearer;
pub mod plain;
pub mod scram;
mod unknown_user;
