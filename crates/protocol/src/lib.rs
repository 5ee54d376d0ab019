//! Fieldcheck's wire contract, shared by the tablet (`fieldcheck-core`) and the central server.
//!
//! Everything here is plain data with serde derives and no I/O: ids, hybrid-logical-clock
//! stamps, the checklist templates the server hands out, and the records a tablet creates and
//! pushes. A type that crosses the wire is defined here and nowhere else.
//!
//! Must not depend on any other Fieldcheck crate; with the `ts` feature its types also
//! declare themselves in TypeScript (ts-rs) for the tablet UI.

mod hlc;
mod records;
mod sync;
mod template;

pub use hlc::Hlc;
pub use records::*;
pub use sync::*;
pub use template::*;

/// Version of the sync protocol spoken by this build. A peer with another version is refused
/// with a message naming both versions. Version 2 added assignments and tablet findings and
/// steps in the pulled change log; version 3 photo records in pulls, scoped pulls, check-ins
/// and marked copies of photos; version 4 findings' short numbers and people's names in pulls.
pub const PROTOCOL_VERSION: u32 = 4;
