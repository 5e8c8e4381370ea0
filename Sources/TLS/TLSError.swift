/// What went wrong, as a value whose description is one line a user can act
/// on: the file it concerns, or the operation and GnuTLS's reason.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A credentials file is missing or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A credentials file was read but its contents cannot be used.
    case invalidFile(path: String, reason: String)
    /// A GnuTLS operation failed; `code` is GnuTLS's (negative) error code.
    case failed(operation: String, code: Int32, reason: String)
    /// The peer did not finish in time: the handshake's deadline passed, or a
    /// socket timeout set by the caller expired.
    case timedOut(operation: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
        case .invalidFile(let path, let reason): "\(path): \(reason)"
        case .failed(let operation, _, let reason): "\(operation): \(reason)"
        case .timedOut(let operation): "\(operation): timed out"
        }
    }
}
