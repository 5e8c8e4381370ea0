import SystemPackage

/// A failed plugin call, as an nbdkit plugin reports one: an errno and a
/// message for the log (and for structured error chunks). The server maps
/// the errno to the wire (`WireErrors`).
public struct PluginError: Error, Equatable, Sendable, CustomStringConvertible {
    public var errno: Errno
    public var message: String

    public init(_ errno: Errno, _ message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(message) (\(errno))" }
}
