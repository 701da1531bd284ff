//! rookery-sasl
