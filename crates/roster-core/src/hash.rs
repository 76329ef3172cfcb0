//! Hash maps for the tables a plan builds per user: declared users by key, live users by id and
//! by matching key, addresses and their skeletons, 100,000 of each at a time. std's SipHash took
//! about 5% of the CPU of a 100,000-user plan; foldhash hashes short strings several times
//! faster.
//!
//! The keys come from pull requests and from the server, so a hasher whose collisions could be
//! worked out in advance would let either make a plan quadratic. foldhash is seeded per process
//! (from addresses that address-space layout randomisation moves, and the time) and per map; it
//! is not std's keyed SipHash with a seed from the OS, and claims only to be "minimally
//! DoS-resistant". What its documentation says it does not withstand is someone watching a
//! process's behaviour to recover its seed: roster prints nothing that depends on its hashes,
//! and its tables are built once per command from what it read. As with std's maps, iteration
//! order differs from run to run, so nothing roster prints depends on it.

/// `std::collections::HashMap` with foldhash; [`HashMapExt`] gives it `new` and `with_capacity`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// `std::collections::HashSet` with foldhash; [`HashSetExt`] gives it `new` and `with_capacity`.
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub use foldhash::{HashMapExt, HashSetExt};
