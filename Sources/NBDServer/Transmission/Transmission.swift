import Logging
import NBDProtocol
import SystemPackage

/// The transmission phase of one connection. Requests are served in the order
/// they arrive, which is what a stream needs. Requests the client pipelined
/// arrive together in the read-ahead and are served together: consecutive
/// WRITEs reach the plugin as one write, and their replies leave in one send.
struct Transmission {
    let connection: Connection
    let plugin: any NBDPlugin
    /// The plugin's zero-copy side and the client's socket, when the plugin
    /// can splice and the channel carries the connection's bytes in the clear.
    let zeroCopy: (plugin: any ZeroCopyPlugin, socket: (input: FileDescriptor, output: FileDescriptor))?
    let export: ExportDescription
    let session: Session
    let configuration: ServerConfiguration
    let logger: Logger
    private let replies: ReplyWriter
    /// One buffer for the connection's life, as large as the largest payload.
    private let buffer: UnsafeMutableRawBufferPointer

    private static let headerLength = NBDLimits.requestHeaderLength
    /// A payload from this size on moves faster spliced than copied twice
    /// through the read-ahead (measured with 64 KiB writes, docs/benchmark.md).
    static let spliceWorthyPayload = 32 * 1024

    init(connection: Connection, plugin: any NBDPlugin, session: Session, configuration: ServerConfiguration, logger: Logger) {
        self.connection = connection
        self.plugin = plugin
        if let splicing = plugin as? any ZeroCopyPlugin, let socket = connection.channel.spliceable {
            zeroCopy = (splicing, socket)
        } else {
            zeroCopy = nil
        }
        export = plugin.export
        self.session = session
        self.configuration = configuration
        self.logger = logger
        replies = ReplyWriter(connection: connection, structured: session.structuredReplies)
        buffer = .allocate(byteCount: Int(export.maximumPayload), alignment: 4096)
    }

    /// What the connection does after a request.
    private enum Continuation {
        case next
        /// Read only a header next: a large payload went by splice and another may follow.
        case nextHeaderOnly
        case close
    }

    /// Serves until the client disconnects, then releases the buffer.
    func run() throws {
        defer { buffer.deallocate() }
        var readLimit = Int.max
        while true {
            // Replies go out before the connection waits for more requests.
            while connection.buffered.count < Self.headerLength {
                try connection.flushReplies()
                try connection.fill(limit: readLimit)
            }
            let header: RequestHeader
            do { header = try RequestHeader(decoding: connection.buffered) } catch {
                logger.error("closing the connection: request \(error)")
                return try connection.flushReplies()
            }
            connection.consume(Self.headerLength)
            if header.command == .disconnect {
                logger.debug("client sent NBD_CMD_DISC")
                return try connection.flushReplies()
            }
            switch try serve(header) {
            case .next: readLimit = .max
            case .nextHeaderOnly: readLimit = Self.headerLength
            case .close: return try connection.flushReplies()
            }
        }
    }

    private func serve(_ header: RequestHeader) throws -> Continuation {
        if let refusal = RequestValidation.check(header, export: export, session: session) {
            return try refuse(header, refusal)
        }
        switch header.command {
        case .write: return try serveWrite(header)
        case .read: return try serveRead(header)
        default:
            try connection.flushReplies()
            do throws(PluginError) { try serveWithoutData(header) } catch { fail(header, error) }
            return .next
        }
    }

    /// Answers a request validation refused; its payload, if any, is skipped
    /// first, within a bound, so a lying length cannot keep the server busy.
    private func refuse(_ header: RequestHeader, _ refusal: PluginError) throws -> Continuation {
        if header.hasPayload {
            guard UInt64(header.length) <= configuration.maximumDiscardedPayload else {
                logger.error("closing the connection: \(refusal.message), past the \(configuration.maximumDiscardedPayload)-byte bound for skipping a payload")
                return .close
            }
            try connection.flushReplies()
            try connection.discard(UInt64(header.length))
        }
        fail(header, refusal)
        return .next
    }

    // MARK: WRITE

    private func serveWrite(_ header: RequestHeader) throws -> Continuation {
        let length = Int(header.length)
        // A large payload is cheaper spliced than read ahead: the next read
        // stops at the next header, so a payload behind it stays in the socket.
        let next: Continuation = zeroCopy != nil && length >= Self.spliceWorthyPayload ? .nextHeaderOnly : .next
        if connection.buffered.count >= length {
            try serveReadAheadWrites(header)
            return next
        }
        let fua = header.flags.contains(.fua)
        guard let zeroCopy else {
            let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
            try connection.flushReplies()
            try connection.readExactly(into: data)
            do throws(PluginError) { try plugin.write(UnsafeRawBufferPointer(data), offset: header.offset, fua: fua) } catch {
                fail(header, error)
                return .next
            }
            succeed(header)
            return .next
        }
        let payload = SocketPayload(connection: connection, socket: zeroCopy.socket.input, buffer: buffer, count: length)
        try connection.flushReplies()
        do throws(PluginError) {
            try zeroCopy.plugin.write(payload, offset: header.offset, fua: fua)
            succeed(header, spliced: payload.spliced)
        } catch {
            fail(header, error)
        }
        try payload.drain()
        return next
    }

    /// WRITEs whose payloads were all read ahead: `first`, and those after it
    /// that continue it, reach the plugin as one write. Their payloads are
    /// moved together in the read-ahead, over the headers between them, and
    /// their replies leave together once the plugin has taken all the bytes,
    /// so FLUSH and FUA keep their meaning.
    private func serveReadAheadWrites(_ first: RequestHeader) throws {
        let start = connection.bufferedForUpdate.baseAddress!
        var run = [first]
        var length = Int(first.length)
        var fua = first.flags.contains(.fua)
        connection.consume(length)
        while let next = continuingWrite(at: first.offset + UInt64(length)) {
            let count = Int(next.length)
            let payload = connection.buffered.baseAddress! + Self.headerLength
            (start + length).copyMemory(from: payload, byteCount: count)
            connection.consume(Self.headerLength + count)
            run.append(next)
            length += count
            fua = fua || next.flags.contains(.fua)
        }
        try connection.flushReplies()
        do throws(PluginError) {
            try plugin.write(UnsafeRawBufferPointer(start: start, count: length), offset: first.offset, fua: fua)
            run.forEach { succeed($0) }
        } catch {
            run.forEach { fail($0, error) }
        }
    }

    /// The next read-ahead request, if it is a valid WRITE at `offset` whose
    /// payload arrived whole.
    private func continuingWrite(at offset: UInt64) -> RequestHeader? {
        let readAhead = connection.buffered
        guard readAhead.count >= Self.headerLength, let header = try? RequestHeader(decoding: readAhead),
              header.command == .write, header.offset == offset,
              readAhead.count >= Self.headerLength + Int(header.length),
              RequestValidation.check(header, export: export, session: session) == nil
        else { return nil }
        return header
    }

    // MARK: READ

    private func serveRead(_ header: RequestHeader) throws -> Continuation {
        try connection.flushReplies()
        guard let zeroCopy else {
            let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(header.length)])
            do throws(PluginError) { try plugin.read(into: data, offset: header.offset) } catch {
                fail(header, error)
                return .next
            }
            try succeed(header, data: UnsafeRawBufferPointer(data))
            return .next
        }
        let reply = PipeReply(connection: connection, socket: zeroCopy.socket.output, header: header,
                              structured: session.structuredReplies, buffer: buffer)
        do throws(PluginError) { try zeroCopy.plugin.read(reply, offset: header.offset) } catch {
            guard !reply.clientFailed else { return .close }
            // A structured reply that already sent data ends with this error
            // chunk; a simple reply never starts before it holds all its data.
            fail(header, error)
            return .next
        }
        guard !reply.clientFailed else { return .close }
        if reply.isSent {
            log(header, nil, spliced: reply.spliced)
        } else {
            try succeed(header, data: UnsafeRawBufferPointer(reply.buffer))
        }
        return .next
    }

    // MARK: the rest

    private func serveWithoutData(_ header: RequestHeader) throws(PluginError) {
        let fua = header.flags.contains(.fua)
        switch header.command {
        case .writeZeroes:
            try plugin.writeZeroes(length: header.length, offset: header.offset, fua: fua)
        case .flush:
            try plugin.flush()
        case .cache:
            try plugin.cache(length: header.length, offset: header.offset)
        case .blockStatus:
            let extents = try plugin.extents(length: header.length, offset: header.offset)
            log(header, nil)
            return replies.blockStatus(cookie: header.cookie, contextID: session.baseAllocationContext ?? 0,
                                       extents: header.flags.contains(.requestOne) ? Array(extents.prefix(1)) : extents)
        default:
            preconditionFailure("validation admits only known commands")
        }
        succeed(header)
    }

    private func succeed(_ header: RequestHeader, spliced: Bool = false) {
        log(header, nil, spliced: spliced)
        replies.success(cookie: header.cookie)
    }

    private func succeed(_ header: RequestHeader, data: UnsafeRawBufferPointer) throws {
        log(header, nil)
        try replies.data(cookie: header.cookie, offset: header.offset, data)
    }

    private func fail(_ header: RequestHeader, _ error: PluginError) {
        log(header, error)
        replies.failure(header, error)
    }

    private func log(_ header: RequestHeader, _ error: PluginError?, spliced: Bool = false) {
        if let error {
            // Clients probe FAST_ZERO routinely; its refusal is not a fault.
            let level: Logger.Level = error.errno == .notSupported ? .debug : .error
            logger.log(level: level, "\(header.command) offset=\(header.offset) length=\(header.length): \(error)")
        } else {
            // One line per request under -v; the logger drops it otherwise, unformatted.
            logger.debug("\(header.command) cookie=\(header.cookie) offset=\(header.offset) length=\(header.length) flags=0x\(String(header.flags.rawValue, radix: 16)): ok\(spliced ? " (spliced)" : "")")
        }
    }
}
