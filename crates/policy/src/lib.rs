//! rookery-policy
