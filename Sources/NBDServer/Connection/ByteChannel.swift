import SystemPackage

/// One connection's bytes, in the clear or encrypted: the server reads and
/// writes through this and never needs to know which.
public protocol ByteChannel {
    /// Reads what is available, at least one byte and at most `buffer.count`;
    /// 0 when the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Sends every byte of `buffers`, in order, in as few system calls as it can.
    func write(_ buffers: [UnsafeRawBufferPointer]) throws
    /// The descriptors under the channel when the bytes on them are the
    /// connection's own (nothing encrypts them), so the kernel may splice
    /// payloads straight to and from them; nil otherwise.
    var spliceable: (input: FileDescriptor, output: FileDescriptor)? { get }
    /// Ends the channel's own framing before the socket closes (TLS sends
    /// its closing alert); plaintext has nothing to end.
    func finish()
}

extension ByteChannel {
    public func finish() {}
}

/// The end of the connection was reached while more bytes were expected.
public struct ConnectionClosed: Error, Sendable {
    public init() {}
}

/// Bytes as they are on the socket (or on stdin and stdout for `-s`, which is
/// why input and output may differ).
public struct PlainChannel: ByteChannel, Sendable {
    public let input: FileDescriptor
    public let output: FileDescriptor

    public init(input: FileDescriptor, output: FileDescriptor) {
        self.input = input
        self.output = output
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try input.read(into: buffer)
    }

    public func write(_ buffers: [UnsafeRawBufferPointer]) throws {
        try output.writeAll(gathering: buffers)
    }

    public var spliceable: (input: FileDescriptor, output: FileDescriptor)? { (input, output) }
}
