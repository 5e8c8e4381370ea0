import Glibc
import SystemPackage

/// Runs a system call that returns -1 and sets errno on failure, retrying EINTR,
/// so callers get swift-system's typed `Errno` rather than a sentinel. Every
/// system call of the project goes through here or through swift-system, so
/// EINTR is handled in one place.
@discardableResult
public func valueOrErrno<T: FixedWidthInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = Errno(rawValue: errno)
        if error != .interrupted { throw error }
    }
}
