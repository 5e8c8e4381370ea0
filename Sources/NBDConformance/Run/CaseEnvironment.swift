/// Where one case runs: prepares its server (or the shared target) and tears it down afterwards.
protocol CaseEnvironment: Sendable {
    func prepare(_ testCase: ConformanceCase, seed: UInt64, timeout: Double) throws -> PreparedCase
}

/// A context ready for the case body, and how to tear it down; `finish` returns the server's log tail, if any.
struct PreparedCase {
    let context: CaseContext
    let finish: () -> String
}
