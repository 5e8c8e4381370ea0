import Foundation
import TestSupport

/// The listening side of a Unix socket, for the peers a stream endpoint
/// connects to, with the sockaddr_un boilerplate in one place.
enum UnixSocket {
    static func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, withAddress(path, { bind(fd, $0, $1) }) == 0, Foundation.listen(fd, 1) == 0 else {
            throw TestFailure("listen \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Accepts one connection within `seconds`, or nil.
    static func accept(_ listener: Int32, seconds: Double) -> Int32? {
        var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { return nil }
        let fd = Foundation.accept(listener, nil, nil)
        return fd >= 0 ? fd : nil
    }

    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
