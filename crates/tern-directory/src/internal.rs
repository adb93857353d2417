//! Internal directory (placeholder).
