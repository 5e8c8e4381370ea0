import NBDServer

/// The pipe engine: one stream shared by every connection, which may only
/// move forwards, with the windows that let it absorb requests arriving
/// slightly out of order. Requests are served one at a time across all
/// connections, as nbdkit's plugin is (SERIALIZE_ALL_REQUESTS): the pipe has
/// a single position. Unchecked Sendable because the adapter only ever
/// touches it inside its lock.
struct Stream: ~Copyable, @unchecked Sendable {
    /// A write's data: in memory, still in the client's socket, or zeroes.
    enum Payload {
        case memory(UnsafeRawBufferPointer)
        case socket(SocketPayload)
        case zeroes(UInt64)

        var length: UInt64 {
            switch self {
            case let .memory(data): UInt64(data.count)
            case let .socket(payload): UInt64(payload.remaining)
            case let .zeroes(count): count
            }
        }
    }

    /// Where a read's bytes go: memory the caller sends, or a reply the pipe
    /// can feed directly.
    enum ReadTarget {
        case memory(UnsafeMutableRawBufferPointer)
        case reply(PipeReply)

        var buffer: UnsafeMutableRawBufferPointer {
            switch self {
            case let .memory(buffer): buffer
            case let .reply(reply): reply.buffer
            }
        }
    }

    private(set) var position: StreamPosition
    let endpoint: StreamEndpoint
    /// Gaps are zero-filled (write mode) or discarded (read mode) through
    /// this, in constant memory. Only read mode overwrites it, so in write
    /// mode it holds the zeroes it was allocated with.
    private let scratch: UnsafeMutableRawBufferPointer
    private(set) var window: ReorderWindow
    private var retained: RetentionBuffer

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
    private mutating func guarded(_ body: (inout Self) throws(StreamEndpoint.Failure) -> Void) throws(PluginError) {
        do { try body(&self) } catch {
            dropWindow()
            throw position.fail(error.description)
        }
    }

    /// A failed stream takes nothing more, so what the window holds is let go
    /// (and the exit status reports the stream incomplete).
    private mutating func dropWindow() {
        window.removeAll()
    }

    // MARK: write mode

    /// A write at the highwater (after zero-filling any gap, when no window is
    /// set) goes straight to the pipe; one ahead of it waits in the window.
    mutating func append(_ payload: Payload, offset: UInt64, fua: Bool) throws(PluginError) {
        let length = payload.length
        let gap: UInt64
        do throws(PluginError) { gap = try position.planWrite(offset: offset, length: length) } catch {
            dropWindow()
            throw error
        }
        if gap == 0 || window.capacity == 0 {
            let payload = try streamable(payload)
            window.forget(from: offset, to: offset + length)
            try guarded { stream throws(StreamEndpoint.Failure) in
                try stream.writeZeroes(gap)
                try stream.put(payload)
                stream.position.advance(to: offset + length)
                try stream.drainContiguous()
            }
        } else {
            window.hold(ReorderWindow.Segment(offset: offset, content: try heldContent(of: payload)))
            try guarded { stream throws(StreamEndpoint.Failure) in
                while stream.window.isOverfull { try stream.streamFirstHeld() }
            }
        }
        if fua { try flush() }
    }

    /// The payload in a form the endpoint takes: only a FIFO can receive one
    /// straight from the client's socket. Reading it first happens before any
    /// byte reaches the pipe, so a client leaving then is not a stream failure.
    private func streamable(_ payload: Payload) throws(PluginError) -> Payload {
        guard case let .socket(socketPayload) = payload, endpoint.kind != .fifo else { return payload }
        return .memory(try inMemory(socketPayload))
    }

    private func heldContent(of payload: Payload) throws(PluginError) -> ReorderWindow.Segment.Content {
        switch payload {
        case let .memory(data): .data(ArraySlice(data.bindMemory(to: UInt8.self)))
        case let .socket(socketPayload): .data(ArraySlice(try inMemory(socketPayload).bindMemory(to: UInt8.self)))
        case let .zeroes(count): .zeroes(count)
        }
    }

    private func inMemory(_ payload: SocketPayload) throws(PluginError) -> UnsafeRawBufferPointer {
        do { return try payload.bytes() } catch {
            throw PluginError(.ioError, "the client went away mid-payload: \(error)")
        }
    }

    private func put(_ payload: Payload) throws(StreamEndpoint.Failure) {
        switch payload {
        case let .memory(data): try endpoint.writeAll(data)
        case let .socket(socketPayload): try endpoint.move(socketPayload)
        case let .zeroes(count): try writeZeroes(count)
        }
    }

    private func writeZeroes(_ count: UInt64) throws(StreamEndpoint.Failure) {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, UInt64(scratch.count)))
            try endpoint.writeAll(UnsafeRawBufferPointer(rebasing: scratch[..<chunk]))
            left -= UInt64(chunk)
        }
    }

    /// Streams held segments that now continue the stream.
    private mutating func drainContiguous() throws(StreamEndpoint.Failure) {
        while let first = window.first, first.offset == position.highwater {
            let segment = window.removeFirst()
            switch segment.content {
            case let .data(bytes): try endpoint.writeAll(bytes)
            case let .zeroes(count): try writeZeroes(count)
            }
            position.advance(to: segment.end)
        }
    }

    /// Gives up on the oldest gap: zero-fills it and streams what follows.
    private mutating func streamFirstHeld() throws(StreamEndpoint.Failure) {
        guard let first = window.first else { return }
        try writeZeroes(first.offset - position.highwater)
        position.advance(to: first.offset)
        try drainContiguous()
    }

    /// Zero-fills every held gap: FLUSH, FUA and the last connection leaving
    /// need every acknowledged write in the pipe.
    mutating func flush() throws(PluginError) {
        try guarded { stream throws(StreamEndpoint.Failure) in
            while stream.window.first != nil { try stream.streamFirstHeld() }
            try stream.endpoint.flush()
        }
    }

    // MARK: read mode

    /// Plans the read once, then serves it: zeroes (or held data) above the
    /// highwater in write mode, retained bytes, or the pipe's next bytes,
    /// straight to the client when the target is a reply and nothing needs
    /// a copy of them.
    mutating func read(_ target: ReadTarget, offset: UInt64) throws(PluginError) {
        let buffer = target.buffer
        switch try position.planRead(offset: offset, length: UInt64(buffer.count), retained: UInt64(retained.count)) {
        case .zeroes:
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            window.overlay(buffer, offset: offset)
        case let .replay(count):
            retained.copy(from: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(count)]))
            try guarded { stream throws(StreamEndpoint.Failure) in
                try stream.readFromPipe(into: UnsafeMutableRawBufferPointer(rebasing: buffer[Int(count)...]))
            }
        case let .stream(gap):
            try guarded { stream throws(StreamEndpoint.Failure) in try stream.discard(gap) }
            if case let .reply(reply) = target, endpoint.kind == .fifo, retained.capacity == 0 {
                try guarded { stream throws(StreamEndpoint.Failure) in try stream.send(reply, at: offset) }
            } else {
                try guarded { stream throws(StreamEndpoint.Failure) in try stream.readFromPipe(into: buffer) }
            }
        }
    }

    /// The zero-copy read: the reply moves the bytes from the FIFO to the client.
    private mutating func send(_ reply: PipeReply, at offset: UInt64) throws(StreamEndpoint.Failure) {
        let transfer = reply.send(from: try endpoint.open())
        position.advance(to: offset + UInt64(transfer.moved))
        switch transfer.outcome {
        case .sent: break
        case .endOfInput: throw endOfFile
        case let .pipeFailed(error): throw StreamEndpoint.Failure(description: "read from \(endpoint.path): \(error)")
        case .clientGone:
            // The rest of this request's bytes are its own and must not reach the next request.
            try discard(UInt64(reply.length - transfer.moved))
        }
    }

    private var endOfFile: StreamEndpoint.Failure {
        StreamEndpoint.Failure(description: "unexpected end of file reading from the pipe \(endpoint.path)")
    }

    /// Reads the next bytes of the pipe, retaining them for `retain=`.
    private mutating func readFromPipe(into buffer: UnsafeMutableRawBufferPointer) throws(StreamEndpoint.Failure) {
        guard buffer.count > 0 else { return }
        guard try endpoint.readExactly(into: buffer) else { throw endOfFile }
        retained.append(UnsafeRawBufferPointer(buffer))
        position.advance(to: position.highwater + UInt64(buffer.count))
    }

    private mutating func discard(_ count: UInt64) throws(StreamEndpoint.Failure) {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, UInt64(scratch.count)))
            try readFromPipe(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk]))
            left -= UInt64(chunk)
        }
    }

    // MARK: either mode

    /// base:allocation: held data is data, whatever the highwater says.
    func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent] {
        try position.checkHealthy()
        if window.holdsData(from: max(offset, position.highwater), to: offset + UInt64(length)) {
            return [PluginExtent(length: length, kind: .data)]
        }
        return position.extents(length: length, offset: offset)
    }

    /// Why the stream is incomplete, if it is: an error, or held data never streamed.
    var incompleteness: PluginError? {
        if let failure = position.failure { return PluginError(.ioError, failure) }
        guard window.heldBytes == 0 else {
            return PluginError(.ioError, "\(window.heldBytes) bytes held in the reorder window were never streamed")
        }
        return nil
    }
}
