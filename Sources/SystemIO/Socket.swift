import Glibc
import SystemPackage

/// Thin, typed wrappers over the BSD socket calls the server and the plugin use.
public enum Socket {
    public struct PathTooLong: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "socket path is too long (\(path.utf8.count) bytes, the limit is \(maximumPathLength)): \(path)" }
    }

    static var maximumPathLength: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }

    /// Connections the kernel queues before the server accepts them: as many
    /// as it allows (net.core.somaxconn caps it), as nbdkit asks. A flood of
    /// clients that fills a short queue makes a TCP client's SYN wait a
    /// second for its retransmission, and a Unix client's connect() fail.
    public static let defaultBacklog = SOMAXCONN

    /// A stream socket listening at `path`, created with `mode` (owner-only by
    /// default). A socket file left behind by a server that died is replaced;
    /// one a live server listens on, or any other file, is an error.
    public static func listenUnix(path: String, mode: mode_t = 0o600, backlog: Int32 = defaultBacklog) throws -> FileDescriptor {
        try removeStaleSocket(at: path)
        let fd = try streamSocket(family: AF_UNIX)
        do {
            // bind() creates the file; the umask is the only way to set its mode
            // atomically. Start-up is single-threaded, so changing it is safe.
            let previous = umask(~mode & 0o777)
            defer { umask(previous) }
            try withUnixAddress(path) { address, length in
                _ = try valueOrErrno { bind(fd.rawValue, address, length) }
            }
            _ = try valueOrErrno { listen(fd.rawValue, backlog) }
            return fd
        } catch {
            try? fd.close()
            throw error
        }
    }

    public struct PathInUse: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot listen on \(path): \(reason)" }
    }

    private static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw PathInUse(path: path, reason: "it exists and is not a socket") }
        do {
            try connectUnix(path: path).close()
            throw PathInUse(path: path, reason: "another server is listening on it")
        } catch Errno.connectionRefused {
            unlink(path)
        }
    }

    /// A stream connection to the socket listening at `path`.
    public static func connectUnix(path: String) throws -> FileDescriptor {
        let fd = try streamSocket(family: AF_UNIX)
        do {
            try withUnixAddress(path) { address, length in
                _ = try valueOrErrno { connect(fd.rawValue, address, length) }
            }
            return fd
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// Listening sockets for every address `host` resolves to (all addresses when nil).
    public static func listenTCP(host: String?, port: UInt16, backlog: Int32 = defaultBacklog) throws -> [FileDescriptor] {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw AddressError(host: host ?? "*", message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var sockets: [FileDescriptor] = []
        do {
            for entry in sequence(first: first, next: { $0.pointee.ai_next }) {
                let info = entry.pointee
                let fd = try streamSocket(family: info.ai_family)
                sockets.append(fd)
                var one: Int32 = 1
                setsockopt(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                // Each family gets its own socket, so IPv6 must not also claim IPv4.
                if info.ai_family == AF_INET6 {
                    setsockopt(fd.rawValue, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                _ = try valueOrErrno { bind(fd.rawValue, info.ai_addr, info.ai_addrlen) }
                _ = try valueOrErrno { listen(fd.rawValue, backlog) }
            }
        } catch {
            for fd in sockets { try? fd.close() }
            throw error
        }
        return sockets
    }

    public struct AddressError: Error, CustomStringConvertible {
        public let host: String
        public let message: String
        public var description: String { "cannot resolve \(host): \(message)" }
    }

    /// The next connection waiting on `listener`; on a non-blocking listener
    /// an empty queue is EAGAIN.
    public static func accept(_ listener: FileDescriptor) throws(Errno) -> FileDescriptor {
        let fd = try valueOrErrno { Glibc.accept(listener.rawValue, nil, nil) }
        // accept4 needs _GNU_SOURCE; the captive command must not inherit clients.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        // The spec asks for it on TCP: a reply must not wait for more to come.
        // On a Unix socket the option does not exist and the call fails harmlessly.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return FileDescriptor(rawValue: fd)
    }

    /// Ends both directions of a connection without closing its descriptor:
    /// the thread blocked reading or writing it wakes (end of file, EPIPE)
    /// and closes it itself, so no other thread can reuse the number meanwhile.
    public static func shutdown(_ socket: FileDescriptor) {
        _ = Glibc.shutdown(socket.rawValue, Int32(SHUT_RDWR))
    }

    /// Bounds every later read on `socket` by `timeout` (nil: reads block for
    /// as long as the peer takes); past it a read fails with EAGAIN. A
    /// descriptor that is not a socket keeps blocking reads.
    public static func setReceiveTimeout(_ socket: FileDescriptor, _ timeout: Duration?) {
        setTimeout(socket, SO_RCVTIMEO, timeout)
    }

    /// The same bound for writes: past it a write that cannot go on fails
    /// with EAGAIN, so a peer that never reads cannot hold the writer.
    public static func setSendTimeout(_ socket: FileDescriptor, _ timeout: Duration?) {
        setTimeout(socket, SO_SNDTIMEO, timeout)
    }

    private static func setTimeout(_ socket: FileDescriptor, _ option: Int32, _ timeout: Duration?) {
        var value = timeval()
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            value = timeval(tv_sec: Int(seconds), tv_usec: max(1, Int(attoseconds / 1_000_000_000_000)))
        }
        _ = setsockopt(socket.rawValue, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func streamSocket(family: Int32) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try valueOrErrno {
            socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
    }

    private static func withUnixAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        let bytes = Array(path.utf8)
        guard bytes.count <= maximumPathLength else { throw PathTooLong(path: path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
