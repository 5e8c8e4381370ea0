import Foundation
import Glibc
import NBDClient
import Synchronization
import TLS

/// A bare NBD client over a socket, for what libnbd will not send: unknown options, hostile lengths,
/// NBD_OPT_EXPORT_NAME on a server that offers NBD_OPT_GO. Big-endian throughout, as on the wire.
final class RawNBDSocket: Sendable {
    let fd: Int32
    private let closed = Mutex(false)
    /// After STARTTLS: every byte goes through this session (RawNBDSocket+TLS).
    let session = Mutex<TLSSession?>(nil)
    /// Against a server that requires TLS, `handshake()` upgrades with these before any other option.
    let upgradeCredentials: TLSClientCredentials?

    init(endpoint: NBDEndpoint, upgradingWith upgradeCredentials: TLSClientCredentials? = nil) throws {
        self.upgradeCredentials = upgradeCredentials
        switch endpoint {
        case .unix(let path):
            fd = try Self.connectUnix(path)
        case .tcp(let host, let port):
            fd = try Self.connectTCP(host: host, port: port)
        case .uri(let uri):
            guard let path = Self.unixSocket(inURI: uri) else { throw CaseSkip("raw-socket cases need a unix:, tcp:, nbd+unix:// or nbds+unix:// target") }
            fd = try Self.connectUnix(path)
        case .command:
            throw CaseSkip("raw-socket cases need a unix:, tcp:, nbd+unix:// or nbds+unix:// target")
        }
    }

    private static func connectUnix(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        guard UnixAddress.withAddress(path, { connect(fd, $0, $1) }) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw CaseFailure("cannot connect to \(path): \(reason)", kind: .connection)
        }
        return fd
    }

    private static func connectTCP(host: String, port: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, port, &hints, &list)
        guard status == 0, let list else { throw HarnessError("cannot resolve \(host):\(port): \(String(cString: gai_strerror(status)))") }
        defer { freeaddrinfo(list) }
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let address = candidate {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            if fd >= 0 {
                if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
                Glibc.close(fd)
            }
            candidate = address.pointee.ai_next
        }
        throw CaseFailure("cannot connect to \(host):\(port): \(String(cString: strerror(errno)))", kind: .connection)
    }

    /// The socket= query parameter of an nbd+unix:// or nbds+unix:// URI (percent-decoded).
    static func unixSocket(inURI uri: String) -> String? {
        guard uri.hasPrefix("nbd+unix://") || uri.hasPrefix("nbds+unix://"), let components = URLComponents(string: uri) else { return nil }
        return components.queryItems?.first { $0.name == "socket" }?.value
    }

    deinit { close() }

    func close() {
        closed.withLock { closed in
            guard !closed else { return }
            closed = true
            Glibc.close(fd)
        }
    }

    /// Called from the watchdog thread: makes a blocked read return end of file.
    func interrupt() {
        closed.withLock { closed in if !closed { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    // MARK: Handshake pieces

    struct Greeting {
        let flags: UInt16
        var noZeroes: Bool { flags & Wire.flagNoZeroes != 0 }
    }

    /// Reads the newstyle greeting and answers with the flags both sides support (fixed newstyle, no zeroes);
    /// against a server that requires TLS, upgrades before returning.
    func handshake() throws -> Greeting {
        let magic = try readUInt64()
        try expectEqual(magic, Wire.nbdMagic, "the greeting starts with NBDMAGIC")
        let style = try readUInt64()
        try expect(style == Wire.optionMagic, "the server uses newstyle negotiation",
                   expected: String(Wire.optionMagic, radix: 16), actual: String(style, radix: 16))
        let flags = try readUInt16()
        try writeUInt32(UInt32(flags & (Wire.flagFixedNewstyle | Wire.flagNoZeroes)))
        if let upgradeCredentials { try upgrade(with: upgradeCredentials) }
        return Greeting(flags: flags)
    }

    func sendOption(_ option: UInt32, data: [UInt8] = [], declaredLength: UInt32? = nil) throws {
        var message = Self.bytes(Wire.optionMagic) + Self.bytes(option)
        message += Self.bytes(declaredLength ?? UInt32(data.count)) + data
        try send(message)
    }

    struct OptionReply {
        let option: UInt32
        let type: UInt32
        let data: [UInt8]
    }

    /// Reads one option reply; its payload is capped so a hostile server cannot make the harness allocate much.
    func readOptionReply() throws -> OptionReply {
        let magic = try readUInt64()
        try expect(magic == Wire.optionReplyMagic, "option reply magic",
                   expected: String(Wire.optionReplyMagic, radix: 16), actual: String(magic, radix: 16))
        let option = try readUInt32()
        let type = try readUInt32()
        let length = try readUInt32()
        try expect(length <= 1 << 20, "option reply length is sane", expected: "<= 1 MiB", actual: "\(length)")
        return OptionReply(option: option, type: type, data: try read(Int(length)))
    }

    /// Reads replies to one option until its final one (ACK or an error); NBD_OPT_LIST sends several.
    func readFinalOptionReply() throws -> OptionReply {
        while true {
            let reply = try readOptionReply()
            if reply.type == Wire.replyAck || reply.type & Wire.replyErrorBit != 0 { return reply }
        }
    }

    /// Negotiates structured replies and enters transmission with NBD_OPT_GO on the default export.
    func enterTransmissionWithStructuredReplies() throws {
        _ = try handshake()
        try sendOption(Wire.Option.structuredReply.rawValue)
        guard try readFinalOptionReply().type == Wire.replyAck else { throw CaseSkip("the server refuses structured replies") }
        // Export name "" (length 0) and no information requests.
        try sendOption(Wire.Option.go.rawValue, data: [0, 0, 0, 0, 0, 0])
        let reply = try readFinalOptionReply()
        try expect(reply.type == Wire.replyAck, "NBD_OPT_GO is accepted", expected: "NBD_REP_ACK", actual: "0x\(String(reply.type, radix: 16))")
    }

    func sendRead(cookie: UInt64, offset: UInt64, length: UInt32) throws {
        try send(Self.bytes(Wire.requestMagic) + Self.bytes(UInt16(0)) + Self.bytes(Wire.commandRead) + Self.bytes(cookie)
            + Self.bytes(offset) + Self.bytes(length))
    }

    struct StructuredChunk {
        let flags: UInt16
        let type: UInt16
        let cookie: UInt64
        let payload: [UInt8]
        var isDone: Bool { flags & Wire.chunkFlagDone != 0 }
    }

    /// One structured reply chunk; a simple reply where a structured one is due fails the case.
    func readStructuredChunk(maximumPayload: UInt32) throws -> StructuredChunk {
        let magic = try readUInt32()
        try expect(magic == Wire.structuredReplyMagic, "a structured reply chunk (structured replies were negotiated)",
                   expected: String(Wire.structuredReplyMagic, radix: 16), actual: String(magic, radix: 16))
        let flags = try readUInt16()
        let type = try readUInt16()
        let cookie = try readUInt64()
        let length = try readUInt32()
        try expect(length <= maximumPayload, "the chunk's length is within the request", expected: "<= \(maximumPayload)", actual: "\(length)")
        return StructuredChunk(flags: flags, type: type, cookie: cookie, payload: try read(Int(length)))
    }

    func sendDisconnect() throws {
        var request = Self.bytes(Wire.requestMagic) + Self.bytes(UInt16(0)) + Self.bytes(Wire.commandDisconnect)
        request += [UInt8](repeating: 0, count: 8 + 8 + 4)
        try send(request)
    }

    /// True if the server closes the connection within `seconds` (bytes it sends first are discarded).
    func closesWithin(seconds: Double) -> Bool {
        if let tls = session.withLock({ $0 }) { return Self.session(tls, on: fd, closesWithin: seconds) }
        let deadline = Date().addingTimeInterval(seconds)
        var scratch = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) >= 0 else { return false }
            if poller.revents != 0 {
                let count = recv(fd, &scratch, scratch.count, 0)
                if count <= 0 { return true }
            }
        }
        return false
    }

    // MARK: Bytes

    func send(_ bytes: [UInt8]) throws {
        if let tls = session.withLock({ $0 }) { return try Self.send(bytes, through: tls) }
        var done = 0
        while done < bytes.count {
            let count = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw CaseFailure("the server closed the connection while the harness was sending", kind: .connection) }
            done += count
        }
    }

    func read(_ count: Int) throws -> [UInt8] {
        if let tls = session.withLock({ $0 }) { return try Self.read(count, through: tls) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes[done...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw CaseFailure("the server closed the connection after \(done) of \(count) expected bytes", kind: .connection) }
            done += got
        }
        return bytes
    }

    func readUInt16() throws -> UInt16 { UInt16(try Self.integer(read(2))) }
    func readUInt32() throws -> UInt32 { UInt32(try Self.integer(read(4))) }
    func readUInt64() throws -> UInt64 { try Self.integer(read(8)) }
    func writeUInt32(_ value: UInt32) throws { try send(Self.bytes(value)) }

    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func integer(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
