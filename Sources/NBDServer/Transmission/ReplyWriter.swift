import NBDProtocol

/// Queues replies in the form the session negotiated: simple replies, or
/// structured chunks once NBD_OPT_STRUCTURED_REPLY was accepted.
struct ReplyWriter {
    let connection: Connection
    let structured: Bool

    func success(cookie: UInt64) {
        connection.queue(structured ? Reply.none(cookie: cookie) : Reply.simple(cookie: cookie, error: .ok))
    }

    func failure(_ header: RequestHeader, _ error: PluginError) {
        let wire = WireErrors.wireError(for: error.errno, flags: header.flags)
        connection.queue(structured
            ? Reply.errorChunk(cookie: header.cookie, error: wire, message: error.message)
            : Reply.simple(cookie: header.cookie, error: wire))
    }

    /// A read's data in a single chunk, so DF is honoured whatever the client asked.
    func data(cookie: UInt64, offset: UInt64, _ data: UnsafeRawBufferPointer) throws {
        let header = structured
            ? Reply.offsetDataHeader(cookie: cookie, offset: offset, dataLength: UInt32(data.count), done: true)
            : Reply.simple(cookie: cookie, error: .ok)
        try connection.queue(header: header, data: data)
    }

    func blockStatus(cookie: UInt64, contextID: UInt32, extents: [PluginExtent]) {
        let descriptors = extents.map { extent in
            var flags: AllocationFlags = []
            if extent.kind.contains(.hole) { flags.insert(.hole) }
            if extent.kind.contains(.zero) { flags.insert(.zero) }
            return Extent(length: extent.length, flags: flags)
        }
        connection.queue(Reply.blockStatus(cookie: cookie, contextID: contextID, extents: descriptors))
    }
}
