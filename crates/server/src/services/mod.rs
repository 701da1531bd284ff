//! Services bound to a whole domain: MUC (rooms in their own tasks, with the Jitsi policy
//! plugged into its hooks), XEP-0114 external components and Jitsi's client proxy
//! (`focus.<domain>`).

pub mod client_proxy;
pub mod component;
pub mod muc;
pub mod muc_policy;
