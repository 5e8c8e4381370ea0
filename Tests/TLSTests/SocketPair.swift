import Foundation
import SystemPackage
import TestSupport

/// Two connected stream sockets, a server end and a client end, each with a
/// receive timeout so that no read in a test can wait forever. Loopback TCP
/// when the test needs a real TCP socket (kernel TLS exists only there).
final class SocketPair {
    let server: FileDescriptor
    let client: FileDescriptor
    private var open = true

    init(tcp: Bool = false, timeoutSeconds: Int = 10) throws {
        (server, client) = tcp ? try Self.loopbackTCP() : try Self.unix()
        for end in [server, client] {
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(end.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit { close() }

    /// Shuts both ends down first: a thread still blocked on one (a test that
    /// failed its bounded wait) wakes, where close alone would leave it waiting.
    func close() {
        guard open else { return }
        open = false
        _ = Glibc.shutdown(server.rawValue, Int32(SHUT_RDWR))
        _ = Glibc.shutdown(client.rawValue, Int32(SHUT_RDWR))
        try? server.close()
        try? client.close()
    }

    private static func unix() throws -> (FileDescriptor, FileDescriptor) {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw TestFailure("socketpair: \(String(cString: strerror(errno)))") }
        return (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
    }

    /// A listener on 127.0.0.1 with a port the kernel picks, one connection, then the listener closes.
    private static func loopbackTCP() throws -> (FileDescriptor, FileDescriptor) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("loopback listener: \(String(cString: strerror(errno)))") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        guard connected else { throw TestFailure("connect to loopback: \(String(cString: strerror(errno)))") }
        let server = accept(listener, nil, nil)
        guard server >= 0 else { throw TestFailure("accept: \(String(cString: strerror(errno)))") }
        return (FileDescriptor(rawValue: server), FileDescriptor(rawValue: client))
    }
}

/// Work on another thread whose result the test collects with a bounded wait:
/// both ends of a TLS handshake block until the other answers.
final class Background<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result(catching: body)
            done.signal()
        }
    }

    func wait(seconds: Double = 20) throws -> Result<Value, Error> {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TestFailure("background work did not finish in \(seconds) s") }
        return result!
    }
}
