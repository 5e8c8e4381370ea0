import Logging
import NBDProtocol
import NBDServer
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// nbdkit's streaming plugin: one stream per server, shared by every
/// connection, which may only move forwards.
public final class StreamingPlugin: NBDPlugin {
    public let export: ExportDescription
    private let configuration: StreamingConfiguration
    private let stream: Mutex<Stream>

    /// Requests are served one at a time across all connections, as nbdkit's
    /// plugin is (SERIALIZE_ALL_REQUESTS): the pipe has a single position.
    /// Unchecked because it is only ever touched inside `stream`'s lock.
    fileprivate struct Stream: ~Copyable, @unchecked Sendable {
        var position: StreamPosition
        let endpoint: StreamEndpoint
        /// Gaps are zero-filled (write mode) or discarded (read mode) through
        /// this, in constant memory. Only read mode overwrites it, so in write
        /// mode it holds the zeroes it was allocated with.
        let scratch: UnsafeMutableRawBufferPointer
    }

    static let blockSizes = BlockSizeConstraints(minimum: 1, preferred: 4096, maximum: NBDLimits.defaultMaximumPayload)
    static let scratchSize = 256 * 1024

    public init(configuration: StreamingConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let endpoint = try StreamEndpoint(path: configuration.path, mode: configuration.mode, logger: logger)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.scratchSize, alignment: 4096)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        stream = Mutex(Stream(position: StreamPosition(mode: configuration.mode), endpoint: endpoint, scratch: scratch))
        export = ExportDescription(
            size: configuration.size,
            isReadOnly: configuration.mode == .read,
            description: "\(configuration.mode == .write ? "streaming to" : "streaming from") \(configuration.path)",
            blockSizes: Self.blockSizes
        )
    }

    public func openConnection() throws(PluginError) {
        try stream.withLock { stream throws(PluginError) in
            guard let failure = stream.position.failure else { return }
            throw PluginError(.io, "\(StreamPosition.errorStatePrefix), no new connections can be opened: \(failure)")
        }
    }

    public func closeConnection() {}

    public func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError) {
        try stream.withLock { stream throws(PluginError) in
            switch try stream.position.planRead(offset: offset) {
            case .zeroes:
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
            case let .stream(gap):
                try stream.guarded { stream throws(StreamEndpoint.Failure) in
                    try stream.discard(gap)
                    guard try stream.endpoint.readExactly(into: buffer) else { throw stream.endOfFile }
                }
                stream.position.advance(to: offset + UInt64(buffer.count))
            }
        }
    }

    public func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) {
        try append(offset: offset, length: UInt64(data.count), fua: fua) { stream throws(StreamEndpoint.Failure) in
            try stream.endpoint.writeAll(data)
        }
    }

    public func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) {
        try append(offset: offset, length: UInt64(length), fua: fua) { stream throws(StreamEndpoint.Failure) in
            try stream.writeZeroes(UInt64(length))
        }
    }

    /// Zero-fills any gap up to `offset`, then lets `body` put `length` bytes.
    private func append(offset: UInt64, length: UInt64, fua: Bool,
                        _ body: (borrowing Stream) throws(StreamEndpoint.Failure) -> Void) throws(PluginError) {
        try stream.withLock { stream throws(PluginError) in
            guard case let .stream(gap) = try stream.position.planWrite(offset: offset) else { return }
            try stream.guarded { stream throws(StreamEndpoint.Failure) in
                try stream.writeZeroes(gap)
                try body(stream)
                if fua { try stream.endpoint.flush() }
            }
            stream.position.advance(to: offset + length)
        }
    }

    public func flush() throws(PluginError) {
        try stream.withLock { stream throws(PluginError) in
            try stream.position.checkHealthy()
            try stream.guarded { stream throws(StreamEndpoint.Failure) in try stream.endpoint.flush() }
        }
    }

    public func cache(length: UInt32, offset: UInt64) throws(PluginError) {
        try stream.withLock { stream throws(PluginError) in try stream.position.checkHealthy() }
    }

    public func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [Extent] {
        try stream.withLock { stream throws(PluginError) in
            try stream.position.checkHealthy()
            return stream.position.extents(length: length, offset: offset)
        }
    }

    /// A request blocked on the pipe holds the lock; the process exit that follows
    /// closes its descriptor, so only an endpoint never opened needs help here.
    public func shutdown() {
        let unopened = stream.withLockIfAvailable { !$0.endpoint.isOpen } ?? false
        if unopened {
            StreamEndpoint.releaseWaitingPeer(path: configuration.path, kind: stream.withLock { $0.endpoint.kind }, mode: configuration.mode)
        }
    }
}

extension StreamingPlugin.Stream {
    /// Runs pipe I/O; any failure of the pipe puts the stream in its error state,
    /// since bytes may have been lost or half-written.
    mutating func guarded(_ body: (borrowing Self) throws(StreamEndpoint.Failure) -> Void) throws(PluginError) {
        do { try body(self) } catch { throw position.fail(error.description) }
    }

    func writeZeroes(_ count: UInt64) throws(StreamEndpoint.Failure) {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, UInt64(scratch.count)))
            try endpoint.writeAll(UnsafeRawBufferPointer(rebasing: scratch[..<chunk]))
            left -= UInt64(chunk)
        }
    }

    var endOfFile: StreamEndpoint.Failure {
        StreamEndpoint.Failure(description: "unexpected end of file reading from the pipe \(endpoint.path)")
    }

    func discard(_ count: UInt64) throws(StreamEndpoint.Failure) {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, UInt64(scratch.count)))
            guard try endpoint.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk])) else { throw endOfFile }
            left -= UInt64(chunk)
        }
    }
}
