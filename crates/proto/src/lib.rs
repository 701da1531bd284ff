//! rookery-proto
