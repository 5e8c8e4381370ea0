import Glibc
import SystemPackage

/// Runs a system call that returns -1 and sets errno on failure, retrying EINTR,
/// so callers get swift-system's typed `Errno` rather than a sentinel. Every
/// call that can be interrupted (reads, writes, splice, poll, accept, connect,
/// fsync, waitpid) goes through here or through swift-system, so EINTR is
/// handled in one place; calls that cannot be (stat, mkfifo, unlink, fork,
/// dup2, kill) are made where they are used.
@discardableResult
public func valueOrErrno<T: FixedWidthInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = Errno(rawValue: errno)
        if error != .interrupted { throw error }
    }
}
