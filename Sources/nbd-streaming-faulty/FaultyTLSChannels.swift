import Glibc
import NBDProtocol
import NBDServer
import Synchronization
import SystemPackage

/// A channel whose first input is `input`, then the inner channel's: bytes
/// the client never sent inside TLS, as the server would read them.
final class InputPrepended: WrappingChannel {
    let inner: any ByteChannel
    private var input: [UInt8]

    init(inner: any ByteChannel, input: [UInt8]) {
        self.inner = inner
        self.input = input
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !input.isEmpty else { return try inner.read(into: buffer) }
        let count = min(input.count, buffer.count)
        buffer.copyBytes(from: input[..<count])
        input.removeFirst(count)
        return count
    }
}

/// A server that keeps what was negotiated in plaintext after the upgrade
/// (nbdkit CVE-2021-3716), as the client sees it: the session inside TLS
/// starts with NBD_OPT_STRUCTURED_REPLY already accepted. The option is fed
/// to the server as the first bytes inside TLS (`InputPrepended`), and its
/// NBD_REP_ACK is swallowed, so the client never asked for it and never hears of it.
final class StructuredRepliesInjected: WrappingChannel {
    let inner: any ByteChannel
    private var swallowed = OptionReply.headerLength

    init(inner: any ByteChannel) { self.inner = inner }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        var bytes = buffers.flatMap { Array($0) }
        let dropped = min(swallowed, bytes.count)
        bytes.removeFirst(dropped)
        swallowed -= dropped
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { try inner.write([$0]) }
    }
}

/// A server that answers a second NBD_OPT_STARTTLS with NBD_REP_ACK instead
/// of the NBD_REP_ERR_INVALID the spec requires.
struct SecondStartTLSAcknowledged: WrappingChannel {
    let inner: any ByteChannel

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        let bytes = buffers.flatMap { Array($0) }
        guard let reply = try? OptionReply.decodeHeader(bytes), reply.option == .startTLS, reply.type == .errInvalid else {
            return try inner.write(buffers)
        }
        try OptionReply(option: .startTLS, type: .ack).encode().withUnsafeBytes { try inner.write([$0]) }
    }
}

/// The plaintext half of a server that acts on bytes sent behind
/// NBD_OPT_STARTTLS: a read that brings the request and more returns the
/// request only, so the server sees nothing waiting and upgrades; the rest
/// is held, by socket, until that connection's TLS channel takes it
/// (`InputPrepended`) and the server reads it as if it came inside TLS.
struct PlaintextBehindStartTLSHeld: WrappingChannel {
    let inner: any ByteChannel
    private static let startTLS = OptionHeader(code: .startTLS, length: 0).encode()
    private static let held = Mutex<[Int32: [UInt8]]>([:])

    static func take(for socket: FileDescriptor) -> [UInt8] {
        held.withLock { $0.removeValue(forKey: socket.rawValue) } ?? []
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try inner.read(into: buffer)
        let bytes = Array(buffer[..<count])
        guard let socket = inner.spliceable?.input,
              let start = bytes.indices.first(where: { bytes[$0...].starts(with: Self.startTLS) }) else { return count }
        let end = start + Self.startTLS.count
        guard end < count else { return count }
        Self.held.withLock { $0[socket.rawValue] = Array(bytes[end...]) }
        return end
    }
}

/// A server that dies with a client whose TLS handshake fails: the plain
/// channel of a connection that acknowledged NBD_OPT_STARTTLS is replaced by
/// a TLS channel when the handshake succeeds, so ending still in plaintext
/// after the acknowledgement means it failed, and the process exits.
final class ExitAfterFailedHandshake: WrappingChannel {
    let inner: any ByteChannel
    private var acknowledgedStartTLS = false

    init(inner: any ByteChannel) { self.inner = inner }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        if let reply = try? OptionReply.decodeHeader(buffers.flatMap { Array($0) }), reply.option == .startTLS, reply.type == .ack {
            acknowledgedStartTLS = true
        }
        try inner.write(buffers)
    }

    func finish() {
        inner.finish()
        if acknowledgedStartTLS { _exit(1) }
    }
}
