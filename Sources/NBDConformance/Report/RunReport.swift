import Foundation

/// A finished run: every case's result plus what is needed to reproduce it.
public struct RunReport: Sendable, Codable {
    public let results: [CaseResult]
    public let startedAt: Date
    public let seconds: Double
    /// server or target, seed, strict, long, timeout, libnbd version; shown in JUnit as suite properties.
    public let properties: [Property]

    public struct Property: Sendable, Codable {
        public let name: String
        public let value: String
    }

    public func count(_ status: CaseResult.Status) -> Int { results.filter { $0.status == status }.count }

    /// 1 if any case failed; else 2 if the harness faulted anywhere; else 0. Skips do not fail a run.
    public var exitStatus: Int32 {
        if count(.failed) > 0 { return 1 }
        if count(.error) > 0 { return 2 }
        return 0
    }
}
