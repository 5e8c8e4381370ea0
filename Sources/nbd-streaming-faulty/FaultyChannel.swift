import NBDProtocol
import NBDServer
import SystemPackage

/// Wraps a connection's channel and commits a protocol fault on the wire,
/// from outside the server: where the server answers an option with
/// NBD_REP_ERR_UNSUP, this channel hangs up instead.
struct FaultyChannel: ByteChannel {
    let inner: any ByteChannel

    /// The channels of a server with `fault`: only wire faults need wrapping.
    static func decorator(for fault: Fault) -> ChannelDecorator {
        guard fault == .disconnectOnUnknownOption else { return { $0 } }
        return { channel in FaultyChannel(inner: channel) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try inner.read(into: buffer)
    }

    func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        let bytes = buffers.flatMap { Array($0) }
        if let reply = try? OptionReply.decodeHeader(bytes), reply.type == .errUnsupported {
            throw ConnectionClosed()
        }
        try inner.write(buffers)
    }

    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { inner.spliceable }
}
