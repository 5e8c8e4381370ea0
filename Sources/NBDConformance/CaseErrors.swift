/// The server did not behave as the case requires: reported as a JUnit failure.
public struct CaseFailure: Error, Sendable {
    public let message: String
    public let details: String
    /// A short machine-readable kind: "assertion", "stream-mismatch", "timeout", "nbd-error".
    public let kind: String

    public init(_ message: String, details: String = "", kind: String = "assertion") {
        self.message = message
        self.details = details
        self.kind = kind
    }
}

/// The case does not apply, e.g. the server does not advertise FLUSH: reported as skipped with the reason.
public struct CaseSkip: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Something outside the server under test went wrong (spawning, files, libnbd misuse): a JUnit error.
public struct HarnessError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
