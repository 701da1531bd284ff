//! Jitsi Meet deployment support: the `[jitsi]` profile that declares the standard hosts in
//! one block, and the docker-jitsi-meet environment variables that build a whole
//! configuration for the container.

pub mod env;
pub mod profile;

pub use env::{EnvError, config_from_env};
pub use profile::{JitsiAccount, JitsiAuth, JitsiHosts, JitsiProfile, StartupAccount};
