import Foundation
import NBDProtocol
import TLS

/// A client on a bare socket for what libnbd will not send: lying lengths,
/// unknown options, oversized payloads, plaintext around STARTTLS. Once
/// upgraded (`startTLS`), it speaks through its TLS session.
public final class RawClient {
    private let fd: Int32
    public internal(set) var session: TLSSession?

    public convenience init(socket path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        try self.init(family: AF_UNIX, address: address, name: path)
    }

    /// A loopback TCP connection: kernel TLS exists only on TCP.
    public convenience init(port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        try self.init(family: AF_INET, address: address, name: "127.0.0.1:\(port)")
    }

    private init<Address>(family: Int32, address: Address, name: String) throws {
        fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = address
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        // On failure the deinitializer closes the socket.
        guard status == 0 else { throw TestFailure("connect \(name): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// The socket, for a TLS session to take over after STARTTLS.
    public var descriptor: Int32 { fd }

    public func send(_ bytes: [UInt8]) throws {
        if let session { return try session.write(gathering: [bytes]) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            offset += count
        }
    }

    /// Reads exactly `count` bytes; the receive timeout bounds the wait.
    public func receive(_ count: Int) throws -> [UInt8] {
        if let session { return try session.readExactly(count) }
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { throw TestFailure("recv: \(got == 0 ? "closed" : String(cString: strerror(errno)))") }
            offset += got
        }
        return bytes
    }

    /// Fixed newstyle greeting with NO_ZEROES.
    public func greet() throws {
        try receiveGreeting()
        try sendFlags()
    }

    /// The server's greeting; the client's flags are yet to be sent.
    public func receiveGreeting() throws {
        let greeting = try receive(18)
        guard greeting == Greeting.newstyle(flags: [.fixedNewstyle, .noZeroes]) else { throw TestFailure("unexpected greeting \(greeting)") }
    }

    /// The client's flags: fixed newstyle with NO_ZEROES.
    public func sendFlags() throws {
        var flags = ByteWriter()
        flags.write(ClientFlags([.fixedNewstyle, .noZeroes]).rawValue)
        try send(flags.bytes)
    }

    public func receiveOptionReply() throws -> OptionReply {
        let header = try OptionReply.decodeHeader(receive(OptionReply.headerLength))
        return OptionReply(option: header.option, type: header.type, payload: try receive(Int(header.length)))
    }

    /// Greets and sends NBD_OPT_GO for the default export, reading replies up to ACK.
    public func negotiateGo() throws {
        try greet()
        try go()
    }

    /// NBD_OPT_GO for the default export, reading replies up to ACK.
    public func go() throws {
        let payload = InfoRequest(exportName: "", requests: []).encode()
        try send(OptionHeader(code: .go, length: UInt32(payload.count)).encode() + payload)
        while try receiveOptionReply().type != .ack {}
    }

    /// True once the server has closed the connection (reads end), within `seconds`.
    public func receiveUntilClosed(seconds: Int) throws -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = recv(fd, &scratch, scratch.count, 0)
            if got == 0 { return true }
            if got < 0 { return errno == ECONNRESET }
        }
    }
}
