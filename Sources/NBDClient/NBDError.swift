import CLibNBD

/// A failed libnbd call: the errno libnbd reported and its message, which names the call and the reason.
public struct NBDError: Error, CustomStringConvertible, Sendable {
    public let errno: Int32
    public let message: String

    public init(errno: Int32, message: String) {
        self.errno = errno
        self.message = message
    }

    /// Captures libnbd's thread-local error state; call it right after the failing call, before any other libnbd call.
    static func last() -> NBDError {
        let text = nbd_get_error().map { String(cString: $0) } ?? "unknown libnbd error"
        return NBDError(errno: nbd_get_errno(), message: text)
    }

    public var description: String { "\(message) (errno \(errno))" }
}

/// libnbd signals failure with -1 from int-returning calls; these turn that into a thrown NBDError.
@discardableResult
func check(_ result: Int32) throws -> Int32 {
    guard result != -1 else { throw NBDError.last() }
    return result
}

@discardableResult
func check(_ result: Int64) throws -> Int64 {
    guard result != -1 else { throw NBDError.last() }
    return result
}
