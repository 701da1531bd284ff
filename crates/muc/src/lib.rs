//! rookery-muc
