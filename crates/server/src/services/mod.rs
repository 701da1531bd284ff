//! Services bound to a whole domain: MUC (rooms in their own tasks, with the Jitsi policy
//! plugged into its hooks), XEP-0114 external components and Jitsi's client proxy
//! (`focus.<domain>`).

pub(crate) mod client_proxy;
pub(crate) mod component;
pub(crate) mod muc;
pub(crate) mod muc_policy;
