import Glibc
import Logging
import NBDServer
import Synchronization

/// nbdkit's streaming plugin, as the server sees it: the export, the
/// connections, and the requests, each turned into an operation on the one
/// `Stream` behind a lock. Handshakes never wait on that lock.
public final class StreamingPlugin: ZeroCopyPlugin {
    public let export: ExportDescription
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

    public init(configuration: StreamingConfiguration, logger: Logger) throws {
        self.logger = logger
        let endpoint = try StreamEndpoint(path: configuration.path, mode: configuration.mode, logger: logger)
        stream = Mutex(Stream(configuration: configuration, endpoint: endpoint))
        export = ExportDescription(
            size: configuration.size,
            isReadOnly: configuration.mode == .read,
            description: "\(configuration.mode == .write ? "streaming to" : "streaming from") \(configuration.path)",
            canMultiConn: configuration.hasWindow
        )
    }

    public func openConnection() throws(PluginError) {
        try gate.withLock { gate throws(PluginError) in
            if let failure = gate.failure {
                throw PluginError(.ioError, "\(StreamPosition.errorStatePrefix), no new connections can be opened: \(failure)")
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
                try stream.flush()
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
        try withStream { stream throws(PluginError) in try stream.read(.memory(buffer), offset: offset) }
    }

    public func read(_ reply: PipeReply, offset: UInt64) throws(PluginError) {
        try withStream { stream throws(PluginError) in try stream.read(.reply(reply), offset: offset) }
    }

    public func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) {
        try withStream { stream throws(PluginError) in try stream.append(.memory(data), offset: offset, fua: fua) }
    }

    public func write(_ payload: SocketPayload, offset: UInt64, fua: Bool) throws(PluginError) {
        try withStream { stream throws(PluginError) in try stream.append(.socket(payload), offset: offset, fua: fua) }
    }

    public func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) {
        try withStream { stream throws(PluginError) in try stream.append(.zeroes(UInt64(length)), offset: offset, fua: fua) }
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

    public func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent] {
        try withStream { stream throws(PluginError) in try stream.extents(length: length, offset: offset) }
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
                return stream.incompleteness
            }) {
                return outcome
            }
            if let failure = gate.withLock({ $0.failure }) { return PluginError(.ioError, failure) }
            guard ContinuousClock.now < deadline else {
                return PluginError(.ioError, "a request was still in progress when the server stopped")
            }
            // A stop is rare and the wait short: polling keeps the lock free of a timed variant.
            usleep(10_000)
        }
    }
}
