import Glibc

/// Which catalog cases a run covers. `*` in a glob also matches `/`, so `seeking*` and `*/flush` both work.
public struct CaseSelection: Sendable {
    public struct Entry: Sendable {
        public let testCase: ConformanceCase
        /// Selected by the filters but left out by `--exclude`: reported as skipped.
        public let isExcluded: Bool
    }

    public let entries: [Entry]

    /// Throws a UsageError when a filter matches no case in the tiers this run includes: a typo must not look green.
    public init(catalog: [ConformanceCase], filters: [String], excludes: [String], strict: Bool, long: Bool,
                windows: Bool = false, tls: Bool = false) throws {
        let tiers = catalog.filter {
            (strict || $0.level == .must) && (long || !$0.isLong) && (windows || $0.windows == .none) && (tls || $0.serverTLS == nil)
        }
        for filter in filters where !tiers.contains(where: { Self.matches(filter, $0.id) }) {
            let hidden = catalog.contains { Self.matches(filter, $0.id) }
            throw UsageError("--filter '\(filter)' matches no case"
                + (hidden ? " (the matching cases need --strict, --long, --windows, or --tls-psk or --tls-certificates)" : ""))
        }
        let chosen = filters.isEmpty ? tiers : tiers.filter { testCase in filters.contains { Self.matches($0, testCase.id) } }
        entries = chosen.map { testCase in
            Entry(testCase: testCase, isExcluded: excludes.contains { Self.matches($0, testCase.id) })
        }
        guard entries.contains(where: { !$0.isExcluded }) else { throw UsageError("the selection leaves no case to run") }
    }

    static func matches(_ glob: String, _ id: String) -> Bool {
        fnmatch(glob, id, 0) == 0
    }
}

/// A mistake on the command line: exit status 2, never a green run.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
