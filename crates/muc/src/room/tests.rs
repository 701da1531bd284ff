//! Room state machine tests: a small harness plus one file per behaviour area.

mod harness;

mod admin;
mod hooks;
mod iq;
mod jicofo_lock;
mod join;
mod messages;
mod owner;
mod presence;
mod scale;
mod shown_cache;
mod views;
