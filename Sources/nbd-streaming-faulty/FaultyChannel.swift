import NBDProtocol
import NBDServer
import SystemPackage

/// Wraps a connection's channel and commits a protocol fault on the wire,
/// from outside the server. The server wraps each connection's plain channel,
/// and after STARTTLS its TLS channel, through the same decorator.
enum FaultyChannel {
    /// The channels of a server with `fault`: only wire faults need wrapping.
    static func decorator(for fault: Fault) -> ChannelDecorator {
        switch fault {
        case .disconnectOnUnknownOption:
            return { HangUpOnUnsupported(inner: $0) }
        case .keepPreTLSState:
            return { $0 is TLSChannel ? StructuredRepliesInjected(inner: $0) : $0 }
        case .acceptSecondStartTLS:
            return { $0 is TLSChannel ? SecondStartTLSAcknowledged(inner: $0) : $0 }
        default:
            return { $0 }
        }
    }
}

/// Where the server answers an option with NBD_REP_ERR_UNSUP, hangs up instead.
private struct HangUpOnUnsupported: ByteChannel {
    let inner: any ByteChannel

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try inner.read(into: buffer) }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        if let reply = try? OptionReply.decodeHeader(buffers.flatMap { Array($0) }), reply.type == .errUnsupported {
            throw ConnectionClosed()
        }
        try inner.write(buffers)
    }

    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { inner.spliceable }
    func finish() { inner.finish() }
}

/// A server that keeps what was negotiated in plaintext after the upgrade
/// (nbdkit CVE-2021-3716), as the client sees it: the session inside TLS
/// starts with NBD_OPT_STRUCTURED_REPLY already accepted. The option is fed
/// to the server as the first bytes inside TLS, and its NBD_REP_ACK is
/// swallowed, so the client never asked for it and never hears of it.
private final class StructuredRepliesInjected: ByteChannel {
    private let inner: any ByteChannel
    private var input = OptionHeader(code: .structuredReply, length: 0).encode()
    private var swallowed = OptionReply.headerLength

    init(inner: any ByteChannel) { self.inner = inner }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !input.isEmpty else { return try inner.read(into: buffer) }
        let count = min(input.count, buffer.count)
        buffer.copyBytes(from: input[..<count])
        input.removeFirst(count)
        return count
    }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        var bytes = buffers.flatMap { Array($0) }
        let dropped = min(swallowed, bytes.count)
        bytes.removeFirst(dropped)
        swallowed -= dropped
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { try inner.write([$0]) }
    }

    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { inner.spliceable }
    func finish() { inner.finish() }
}

/// A server that answers a second NBD_OPT_STARTTLS with NBD_REP_ACK instead
/// of the NBD_REP_ERR_INVALID the spec requires.
private struct SecondStartTLSAcknowledged: ByteChannel {
    let inner: any ByteChannel

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try inner.read(into: buffer) }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        let bytes = buffers.flatMap { Array($0) }
        guard let reply = try? OptionReply.decodeHeader(bytes), reply.option == .startTLS, reply.type == .errInvalid else {
            return try inner.write(buffers)
        }
        try OptionReply(option: .startTLS, type: .ack).encode().withUnsafeBytes { try inner.write([$0]) }
    }

    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { inner.spliceable }
    func finish() { inner.finish() }
}
