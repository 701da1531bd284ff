//! rookery-c2s
