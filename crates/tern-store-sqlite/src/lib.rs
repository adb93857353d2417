//! Embedded store (placeholder until the backend lands).
