import Logging
import NBDProtocol

/// The transmission phase of one connection: requests are served one at a time,
/// in the order they arrive, which is what a stream needs.
struct Transmission {
    let channel: Channel
    let plugin: any NBDPlugin
    let session: Session
    let configuration: ServerConfiguration
    let logger: Logger
    private let replies: ReplyWriter
    /// One buffer for the connection's life, as large as the largest request.
    private let buffer: UnsafeMutableRawBufferPointer

    init(channel: Channel, plugin: any NBDPlugin, session: Session, configuration: ServerConfiguration, logger: Logger) {
        self.channel = channel
        self.plugin = plugin
        self.session = session
        self.configuration = configuration
        self.logger = logger
        replies = ReplyWriter(channel: channel, structured: session.structuredReplies)
        buffer = .allocate(byteCount: Int(plugin.export.blockSizes.maximum), alignment: 4096)
    }

    /// Serves until the client disconnects, then releases the buffer.
    func run() throws {
        defer { buffer.deallocate() }
        while true {
            let header: RequestHeader
            do { header = try RequestHeader.decode(channel.readBytes(NBDLimits.requestHeaderLength)) } catch let error as DecodeError {
                logger.error("closing the connection: request \(error)")
                return
            }
            if header.command == .disconnect {
                logger.debug("client sent NBD_CMD_DISC")
                return
            }
            guard try serve(header) else { return }
        }
    }

    /// Serves one request; false when the connection must close.
    private func serve(_ header: RequestHeader) throws -> Bool {
        if let refusal = RequestValidation.check(header, export: plugin.export, session: session) {
            if header.hasPayload {
                guard UInt64(header.length) <= configuration.maximumDiscardedPayload else {
                    logger.error("closing the connection: \(refusal.message), past the \(configuration.maximumDiscardedPayload)-byte bound for skipping a payload")
                    return false
                }
                try channel.discard(UInt64(header.length), scratch: buffer)
            }
            log(header, refusal)
            try replies.failure(cookie: header.cookie, refusal)
            return true
        }
        if let spliced = try serveSpliced(header) { return spliced }
        // Only READ and WRITE carry data, and validation bounds their length by
        // the buffer; WRITE_ZEROES, CACHE and BLOCK_STATUS may be far longer.
        let dataLength = header.command == .read || header.hasPayload ? Int(header.length) : 0
        let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<dataLength])
        if header.hasPayload { try channel.readExactly(into: data) }
        let outcome: Outcome
        do { outcome = try dispatch(header, data) } catch {
            log(header, error)
            try replies.failure(cookie: header.cookie, error)
            return true
        }
        log(header, nil)
        switch outcome {
        case .done: try replies.success(cookie: header.cookie)
        case .data: try replies.data(cookie: header.cookie, offset: header.offset, UnsafeRawBufferPointer(data))
        case let .extents(extents):
            try replies.blockStatus(cookie: header.cookie, contextID: session.baseAllocationContext ?? 0, extents: extents)
        }
        return true
    }

    /// The zero-copy paths: a WRITE whose payload the plugin moves from the
    /// socket itself, a READ whose data it moves straight to the client. Nil
    /// when the request takes the copying path instead; else whether the
    /// connection goes on.
    private func serveSpliced(_ header: RequestHeader) throws -> Bool? {
        switch header.command {
        case .write where plugin.splicesWrites:
            let payload = SocketPayload(channel: channel, buffer: buffer, count: Int(header.length))
            do throws(PluginError) {
                try plugin.write(splicing: payload, offset: header.offset, fua: header.flags.contains(.fua))
            } catch {
                log(header, error)
                try payload.drain()
                try replies.failure(cookie: header.cookie, error)
                return true
            }
            log(header, nil, spliced: true)
            try replies.success(cookie: header.cookie)
            return true
        case .read where plugin.splicesReads:
            let reply = SplicedReply(channel: channel, header: replies.dataHeader(cookie: header.cookie, offset: header.offset, length: header.length),
                                     buffer: buffer, length: Int(header.length))
            do throws(PluginError) {
                guard try plugin.read(splicingTo: reply, offset: header.offset) else { return nil }
            } catch {
                log(header, error)
                try replies.failure(cookie: header.cookie, error)
                return true
            }
            log(header, nil, spliced: true)
            return !reply.clientFailed
        default:
            return nil
        }
    }

    /// What a request that the plugin served sends back.
    private enum Outcome {
        case done
        case data
        case extents([Extent])
    }

    private func dispatch(_ header: RequestHeader, _ data: UnsafeMutableRawBufferPointer) throws(PluginError) -> Outcome {
        let fua = header.flags.contains(.fua)
        switch header.command {
        case .read:
            try plugin.read(into: data, offset: header.offset)
            return .data
        case .write:
            try plugin.write(UnsafeRawBufferPointer(data), offset: header.offset, fua: fua)
        case .writeZeroes:
            try plugin.writeZeroes(length: header.length, offset: header.offset, fua: fua)
        case .flush:
            try plugin.flush()
        case .cache:
            try plugin.cache(length: header.length, offset: header.offset)
        case .blockStatus:
            let extents = try plugin.extents(length: header.length, offset: header.offset)
            return .extents(header.flags.contains(.requestOne) ? Array(extents.prefix(1)) : extents)
        default:
            preconditionFailure("validation admits only known commands")
        }
        return .done
    }

    private func log(_ header: RequestHeader, _ error: PluginError?, spliced: Bool = false) {
        if let error {
            // Clients probe FAST_ZERO routinely; its refusal is not a fault.
            let level: Logger.Level = error.error == .notSupported ? .debug : .error
            logger.log(level: level, "\(header.command) offset=\(header.offset) length=\(header.length): \(error)")
        } else {
            // One line per request under -v; the logger drops it otherwise, unformatted.
            logger.debug("\(header.command) cookie=\(header.cookie) offset=\(header.offset) length=\(header.length) flags=0x\(String(header.flags.rawValue, radix: 16)): ok\(spliced ? " (spliced)" : "")")
        }
    }
}
