import CSystemShims
import Glibc
import SystemPackage

/// A wake-up one thread gives another through poll(2): an eventfd counter,
/// one descriptor, that never blocks the thread signalling it.
public final class WakeUp: Sendable {
    public let descriptor: FileDescriptor

    public init() throws(Errno) {
        descriptor = FileDescriptor(rawValue: try valueOrErrno { nbd_shim_eventfd() })
    }

    deinit { try? descriptor.close() }

    /// Makes the descriptor readable until the next `drain`.
    public func signal() {
        var one: UInt64 = 1
        _ = try? valueOrErrno { Glibc.write(descriptor.rawValue, &one, MemoryLayout<UInt64>.size) }
    }

    /// Forgets the signals given so far.
    public func drain() {
        var count: UInt64 = 0
        _ = try? valueOrErrno { Glibc.read(descriptor.rawValue, &count, MemoryLayout<UInt64>.size) }
    }
}
