/// The disk faults the proxy injects, one per run, chosen by `--fault`. Each is a way a disk server can be
/// wrong on the wire that the disk profile must catch.
enum Fault: String, CaseIterable {
    /// No fault: the proxy relays every byte as it is, which shows the proxy itself is transparent.
    case none
    /// A READ of a range read before returns the bytes of that first read, as a cache never invalidated.
    case staleRead = "stale-read"
    /// WRITE lands one byte further on than asked.
    case offByOneWrite = "off-by-one-write"
    /// Every base:allocation extent claims NBD_STATE_ZERO.
    case extentsThatLie = "extents-that-lie"
    /// Each structured READ data chunk is sent twice, so chunks overlap.
    case overlappingChunks = "overlapping-chunks"
    /// The tenth reply carries another cookie than its request's.
    case wrongCookie = "wrong-cookie"
    /// WRITE_ZEROES lands 512 bytes further on than asked.
    case zeroesAtWrongOffset = "zeroes-at-wrong-offset"
    /// Writes are held per connection until that connection's FLUSH: a FLUSH on another one does not cover them.
    case flushCoversOwnConnectionOnly = "flush-covers-own-connection-only"
}
