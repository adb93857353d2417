//! SMTP family (placeholder).
