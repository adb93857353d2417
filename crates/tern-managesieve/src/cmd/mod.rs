//! The commands of the authenticated state, one file each (RFC 5804 §2.3-§2.12).
pub(crate) mod deletescript;
pub(crate) mod getscript;
pub(crate) mod havespace;
pub(crate) mod listscripts;
pub(crate) mod putscript;
pub(crate) mod renamescript;
pub(crate) mod setactive;
