import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs a system call that returns -1 and sets errno on failure, retrying EINTR,
/// so callers get swift-system's typed `Errno` rather than a sentinel.
@discardableResult
public func valueOrErrno<T: FixedWidthInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = Errno(rawValue: errno)
        if error != .interrupted { throw error }
    }
}
