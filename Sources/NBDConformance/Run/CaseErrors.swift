/// What went wrong, short and machine-readable: the JUnit failure or error type and the JSON `kind`.
public enum FailureKind: String, Sendable, Codable {
    /// A value the server reported differs from the one required.
    case assertion
    /// A reply to a request differs from what the model predicts.
    case wrongReply = "wrong-reply"
    /// The pipe carries other bytes than the model predicts.
    case streamMismatch = "stream-mismatch"
    /// libnbd reported an error where the case expected none.
    case nbdError = "nbd-error"
    /// The server closed or refused a raw connection.
    case connection
    /// No progress within the case's timeout.
    case timeout
    /// Errors, not failures: the harness itself faulted, or a case did not stop after its timeout.
    case harness
    case stuck
}

/// The server did not behave as the case requires: reported as a JUnit failure.
public struct CaseFailure: Error, Sendable {
    public let message: String
    public let details: String
    public let kind: FailureKind

    public init(_ message: String, details: String = "", kind: FailureKind = .assertion) {
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
