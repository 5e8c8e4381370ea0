import Glibc

/// A connected stream socket with exact reads and whole writes; errors end the connection (nil or false).
final class Socket: Sendable {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    static func connect(unixPath path: String) -> Socket? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard withAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 else {
            Glibc.close(fd)
            return nil
        }
        return Socket(fd: fd)
    }

    /// Connects, retrying every 10 ms for up to `seconds` while nothing listens yet.
    static func connect(unixPath path: String, retryingFor seconds: Double) -> Socket? {
        for _ in 0 ..< Int(seconds * 100) {
            if let socket = connect(unixPath: path) { return socket }
            usleep(10_000)
        }
        return nil
    }

    static func listen(unixPath path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, withAddress(path, { bind(fd, $0, $1) }) == 0, Glibc.listen(fd, 64) == 0 else { return -1 }
        return fd
    }

    /// Calls `body` with the sockaddr_un of `path`.
    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes[done...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return bytes
    }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let sent = bytes[done...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            done += sent
        }
        return true
    }

    func shutdownBoth() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Big-endian field access, as on the wire.
extension Array where Element == UInt8 {
    func integer(at offset: Int, width: Int) -> UInt64 {
        self[offset ..< offset + width].reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func setInteger(_ value: UInt64, at offset: Int, width: Int) {
        for index in 0 ..< width { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - index))) }
    }
}
