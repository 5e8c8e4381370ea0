import Logging
import NBDProtocol
import NBDServer
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// nbdkit's streaming plugin: one stream per server, shared by every
/// connection, which may only move forwards, plus the windows that let it
/// absorb requests arriving slightly out of order (`reorder=`, `retain=`).
public final class StreamingPlugin: NBDPlugin {
    public let export: ExportDescription
    /// Write payloads go from the client's socket into the FIFO inside the
    /// kernel; a window needs them in memory, and splice needs a pipe.
    public let splicesWrites: Bool
    /// Reads can go from the FIFO to the client inside the kernel, unless
    /// `retain=` must keep a copy of every byte.
    public let splicesReads: Bool
    private let configuration: StreamingConfiguration
    private let logger: Logger
    private let stream: Mutex<Stream>
    /// What handshakes need, behind a lock of its own: a request blocked on the
    /// pipe holds `stream`, and must not keep new clients from negotiating.
    private let gate = Mutex(Gate())

    private struct Gate {
        var connections = 0
        /// The stream's failure, mirrored from `stream` once it happens.
        var failure: String?
    }

    static let blockSizes = BlockSizeConstraints(minimum: 1, preferred: 4096, maximum: NBDLimits.defaultMaximumPayload)

    public init(configuration: StreamingConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let endpoint = try StreamEndpoint(path: configuration.path, mode: configuration.mode, logger: logger)
        splicesWrites = configuration.mode == .write && configuration.reorder == 0 && endpoint.kind == .fifo
        splicesReads = configuration.mode == .read && configuration.retain == 0 && endpoint.kind == .fifo
        stream = Mutex(Stream(configuration: configuration, endpoint: endpoint))
        export = ExportDescription(
            size: configuration.size,
            isReadOnly: configuration.mode == .read,
            description: "\(configuration.mode == .write ? "streaming to" : "streaming from") \(configuration.path)",
            blockSizes: Self.blockSizes,
            canMultiConn: configuration.hasWindow
        )
    }

    public func openConnection() throws(PluginError) {
        try gate.withLock { gate throws(PluginError) in
            if let failure = gate.failure {
                throw PluginError(.io, "\(StreamPosition.errorStatePrefix), no new connections can be opened: \(failure)")
            }
            gate.connections += 1
        }
    }

    /// The last connection leaving is the last chance to fill held gaps: no
    /// client is left that could still write them.
    public func closeConnection() {
        let last = gate.withLock { gate in
            gate.connections -= 1
            return gate.connections == 0
        }
        guard last else { return }
        do throws(PluginError) {
            try withStream { stream throws(PluginError) in
                guard !stream.window.segments.isEmpty, stream.position.failure == nil else { return }
                try stream.guarded { stream throws(StreamEndpoint.Failure) in try stream.flushWindow() }
            }
        } catch {
            logger.error("streaming what the reorder window held: \(error.message)")
        }
    }

    /// Runs `body` under the stream's lock and mirrors a failure it caused into
    /// the gate, where handshakes see it.
    private func withStream<T: Sendable>(_ body: (inout Stream) throws(PluginError) -> T) throws(PluginError) -> T {
        var failure: String?
        defer {
            if let failure { gate.withLock { if $0.failure == nil { $0.failure = failure } } }
        }
        return try stream.withLock { stream throws(PluginError) -> T in
            defer { failure = stream.position.failure }
            return try body(&stream)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError) {
        try withStream { stream throws(PluginError) in
            let plan = try stream.position.planRead(offset: offset, length: UInt64(buffer.count), retained: UInt64(stream.retained.count))
            switch plan {
            case .zeroes:
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
                stream.window.overlay(buffer, offset: offset)
            case let .replay(count):
                stream.retained.copy(from: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(count)]))
                try stream.guarded { stream throws(StreamEndpoint.Failure) in
                    try stream.readFromPipe(into: UnsafeMutableRawBufferPointer(rebasing: buffer[Int(count)...]))
                }
            case let .stream(gap):
                try stream.guarded { stream throws(StreamEndpoint.Failure) in
                    try stream.discard(gap)
                    try stream.readFromPipe(into: buffer)
                }
            }
        }
    }

    /// Read mode's zero-copy path: only when the bytes are the next ones in the
    /// FIFO (no gap to skip, nothing to retain) and the FIFO already holds them
    /// all, so the reply cannot fail once its header is out.
    public func read(splicingTo reply: SplicedReply, offset: UInt64) throws(PluginError) -> Bool {
        try withStream { stream throws(PluginError) -> Bool in
            guard try stream.position.planRead(offset: offset, length: UInt64(reply.length)) == .stream(gap: 0) else { return false }
            var sent = false
            try stream.guarded { stream throws(StreamEndpoint.Failure) in
                let pipe = try stream.endpoint.open()
                guard Splice.readableBytes(pipe) >= reply.length else { return }
                reply.send(from: pipe)
                // A client gone mid-reply leaves its bytes in the pipe; they are
                // this request's and must not reach the next one.
                stream.advance(to: offset + UInt64(reply.length - reply.unsent))
                try stream.discard(UInt64(reply.unsent))
                sent = true
            }
            return sent
        }
    }

    /// Write mode's zero-copy path (see `splicesWrites`).
    public func write(splicing payload: SocketPayload, offset: UInt64, fua: Bool) throws(PluginError) {
        try append(offset: offset, length: UInt64(payload.count), fua: fua,
                   held: { preconditionFailure("splicing is off while a window may hold writes") },
                   put: { stream throws(StreamEndpoint.Failure) in try stream.endpoint.splice(payload) })
    }

    public func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) {
        try append(offset: offset, length: UInt64(data.count), fua: fua,
                   held: { .data(ArraySlice(data.bindMemory(to: UInt8.self))) },
                   put: { stream throws(StreamEndpoint.Failure) in try stream.endpoint.writeAll(data) })
    }

    public func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) {
        try append(offset: offset, length: UInt64(length), fua: fua,
                   held: { .zeroes(UInt64(length)) },
                   put: { stream throws(StreamEndpoint.Failure) in try stream.writeZeroes(UInt64(length)) })
    }

    /// A write at the highwater (after zero-filling any gap, when no window is
    /// set) goes straight to the pipe; one ahead of it waits in the window.
    private func append(offset: UInt64, length: UInt64, fua: Bool,
                        held: () -> ReorderWindow.Segment.Content,
                        put: (inout Stream) throws(StreamEndpoint.Failure) -> Void) throws(PluginError) {
        try withStream { stream throws(PluginError) in
            let gap: UInt64
            do throws(PluginError) { gap = try stream.position.planWrite(offset: offset, length: length) } catch {
                stream.dropWindow()
                throw error
            }
            if gap == 0 || stream.window.capacity == 0 {
                stream.window.forget(from: offset, to: offset + length)
                try stream.guarded { stream throws(StreamEndpoint.Failure) in
                    try stream.writeZeroes(gap)
                    try put(&stream)
                    stream.advance(to: offset + length)
                    try stream.drainContiguous()
                }
            } else {
                stream.window.hold(ReorderWindow.Segment(offset: offset, content: held()))
                try stream.guarded { stream throws(StreamEndpoint.Failure) in
                    while stream.window.isOverfull { try stream.streamFirstHeld() }
                }
            }
            if fua { try stream.flush() }
        }
    }

    public func flush() throws(PluginError) {
        try withStream { stream throws(PluginError) in
            try stream.position.checkHealthy()
            try stream.flush()
        }
    }

    public func cache(length: UInt32, offset: UInt64) throws(PluginError) {
        try withStream { stream throws(PluginError) in try stream.position.checkHealthy() }
    }

    public func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [Extent] {
        try withStream { stream throws(PluginError) in
            try stream.position.checkHealthy()
            let end = offset + UInt64(length)
            // Held data is data, whatever the highwater says.
            if stream.window.holdsData(from: max(offset, stream.position.highwater), to: end) {
                return [Extent(length: length, flags: [])]
            }
            return stream.position.extents(length: length, offset: offset)
        }
    }

    /// Held data is not streamed here: the pipe's reader may be stuck, and a
    /// stop must never wait on it. It counts as an incomplete stream instead.
    /// A request still running (blocked on the pipe, or the last connection's
    /// window being streamed) gets up to `patience` to finish; the process exit
    /// that follows closes the descriptor either way.
    public func shutdown(patience: Duration) -> PluginError? {
        let deadline = ContinuousClock.now + patience
        while true {
            if let outcome = stream.withLockIfAvailable({ stream -> PluginError? in
                if !stream.endpoint.isOpen { stream.endpoint.releaseWaitingPeer() }
                if let failure = stream.position.failure { return PluginError(.io, failure) }
                guard stream.window.heldBytes == 0 else {
                    return PluginError(.io, "\(stream.window.heldBytes) bytes held in the reorder window were never streamed")
                }
                return nil
            }) {
                return outcome
            }
            if let failure = gate.withLock({ $0.failure }) { return PluginError(.io, failure) }
            guard ContinuousClock.now < deadline else {
                return PluginError(.io, "a request was still in progress when the server stopped")
            }
            // A stop is rare and the wait short: polling keeps the lock free of a timed variant.
            usleep(10_000)
        }
    }
}

extension StreamingPlugin {
    /// Requests are served one at a time across all connections, as nbdkit's
    /// plugin is (SERIALIZE_ALL_REQUESTS): the pipe has a single position.
    /// Unchecked because it is only ever touched inside the plugin's lock.
    fileprivate struct Stream: ~Copyable, @unchecked Sendable {
        var position: StreamPosition
        let endpoint: StreamEndpoint
        /// Gaps are zero-filled (write mode) or discarded (read mode) through
        /// this, in constant memory. Only read mode overwrites it, so in write
        /// mode it holds the zeroes it was allocated with.
        let scratch: UnsafeMutableRawBufferPointer
        var window: ReorderWindow
        var retained: RetentionBuffer

        static let scratchSize = 256 * 1024

        init(configuration: StreamingConfiguration, endpoint: StreamEndpoint) {
            position = StreamPosition(mode: configuration.mode)
            self.endpoint = endpoint
            scratch = .allocate(byteCount: Self.scratchSize, alignment: 4096)
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
            window = ReorderWindow(capacity: configuration.reorder)
            retained = RetentionBuffer(capacity: Int(configuration.retain))
        }

        deinit { scratch.deallocate() }

        /// Runs pipe I/O; any failure of the pipe puts the stream in its error state,
        /// since bytes may have been lost or half-written.
        mutating func guarded(_ body: (inout Self) throws(StreamEndpoint.Failure) -> Void) throws(PluginError) {
            do { try body(&self) } catch {
                dropWindow()
                throw position.fail(error.description)
            }
        }

        /// A failed stream takes nothing more, so what the window holds is let go
        /// (and the exit status reports the stream incomplete).
        mutating func dropWindow() {
            window.removeAll()
        }

        mutating func advance(to offset: UInt64) {
            position.advance(to: offset)
        }

        mutating func flush() throws(PluginError) {
            try guarded { stream throws(StreamEndpoint.Failure) in
                try stream.flushWindow()
                try stream.endpoint.flush()
            }
        }

        // MARK: write mode

        func writeZeroes(_ count: UInt64) throws(StreamEndpoint.Failure) {
            var left = count
            while left > 0 {
                let chunk = Int(min(left, UInt64(scratch.count)))
                try endpoint.writeAll(UnsafeRawBufferPointer(rebasing: scratch[..<chunk]))
                left -= UInt64(chunk)
            }
        }

        /// Streams held segments that now continue the stream.
        mutating func drainContiguous() throws(StreamEndpoint.Failure) {
            while let first = window.first, first.offset == position.highwater {
                let segment = window.removeFirst()
                switch segment.content {
                case let .data(bytes): try endpoint.writeAll(bytes)
                case let .zeroes(count): try writeZeroes(count)
                }
                advance(to: segment.end)
            }
        }

        /// Gives up on the oldest gap: zero-fills it and streams what follows.
        mutating func streamFirstHeld() throws(StreamEndpoint.Failure) {
            guard let first = window.first else { return }
            try writeZeroes(first.offset - position.highwater)
            advance(to: first.offset)
            try drainContiguous()
        }

        mutating func flushWindow() throws(StreamEndpoint.Failure) {
            while window.first != nil { try streamFirstHeld() }
        }

        // MARK: read mode

        var endOfFile: StreamEndpoint.Failure {
            StreamEndpoint.Failure(description: "unexpected end of file reading from the pipe \(endpoint.path)")
        }

        /// Reads the next bytes of the pipe, retaining them for `retain=`.
        mutating func readFromPipe(into buffer: UnsafeMutableRawBufferPointer) throws(StreamEndpoint.Failure) {
            guard buffer.count > 0 else { return }
            guard try endpoint.readExactly(into: buffer) else { throw endOfFile }
            retained.append(UnsafeRawBufferPointer(buffer))
            advance(to: position.highwater + UInt64(buffer.count))
        }

        mutating func discard(_ count: UInt64) throws(StreamEndpoint.Failure) {
            var left = count
            while left > 0 {
                let chunk = Int(min(left, UInt64(scratch.count)))
                try readFromPipe(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk]))
                left -= UInt64(chunk)
            }
        }
    }
}
