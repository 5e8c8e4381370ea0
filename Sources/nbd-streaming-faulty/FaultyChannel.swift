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
            return { channel in
                guard channel is TLSChannel else { return channel }
                return StructuredRepliesInjected(inner: InputPrepended(inner: channel, input: OptionHeader(code: .structuredReply, length: 0).encode()))
            }
        case .acceptSecondStartTLS:
            return { $0 is TLSChannel ? SecondStartTLSAcknowledged(inner: $0) : $0 }
        case .actOnPlaintextBehindStartTLS:
            return { channel in
                guard let tls = channel as? TLSChannel else { return PlaintextBehindStartTLSHeld(inner: channel) }
                return InputPrepended(inner: tls, input: PlaintextBehindStartTLSHeld.take(for: tls.transport.input))
            }
        case .exitAfterFailedHandshake:
            return { $0 is TLSChannel ? $0 : ExitAfterFailedHandshake(inner: $0) }
        default:
            return { $0 }
        }
    }
}

/// A channel that hands everything to `inner` but what it commits its fault in.
protocol WrappingChannel: ByteChannel {
    var inner: any ByteChannel { get }
}

extension WrappingChannel {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try inner.read(into: buffer) }
    func write(_ buffers: [UnsafeRawBufferPointer]) throws { try inner.write(buffers) }
    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { inner.spliceable }
    func finish() { inner.finish() }
}

/// Where the server answers an option with NBD_REP_ERR_UNSUP, hangs up instead.
private struct HangUpOnUnsupported: WrappingChannel {
    let inner: any ByteChannel

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        if let reply = try? OptionReply.decodeHeader(buffers.flatMap { Array($0) }), reply.type == .errUnsupported {
            throw ConnectionClosed()
        }
        try inner.write(buffers)
    }
}
