/// What haggling settled for one connection.
public struct Session: Sendable, Equatable {
    public var structuredReplies = false
    /// The context id the client selected for base:allocation, if any.
    public var baseAllocationContext: UInt32?

    public init() {}
}

/// base:allocation is the only metadata context; its id is fixed.
enum MetaContexts {
    static let baseAllocation = "base:allocation"
    static let baseAllocationID: UInt32 = 1

    /// Whether a query selects base:allocation: the exact name, or in a LIST the
    /// `base:` wildcard, which the spec says SET must ignore. An empty query
    /// list on LIST means "everything".
    static func selectsBaseAllocation(_ queries: [String], listing: Bool) -> Bool {
        if listing && queries.isEmpty { return true }
        return queries.contains { $0 == baseAllocation || (listing && $0 == "base:") }
    }
}
