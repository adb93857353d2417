//! The backend-generic conformance suite (written with the first backend).
