import NBDProtocol

/// Sends replies in the form the session negotiated: simple replies, or
/// structured chunks once NBD_OPT_STRUCTURED_REPLY was accepted.
struct ReplyWriter {
    let channel: Channel
    let structured: Bool

    func success(cookie: UInt64) throws {
        try channel.write(structured ? Reply.none(cookie: cookie) : Reply.simple(cookie: cookie, error: .ok))
    }

    func failure(cookie: UInt64, _ error: PluginError) throws {
        try channel.write(structured
            ? Reply.errorChunk(cookie: cookie, error: error.error, message: error.message)
            : Reply.simple(cookie: cookie, error: error.error))
    }

    /// A read's data in a single chunk, so DF is honoured whatever the client asked.
    func data(cookie: UInt64, offset: UInt64, _ data: UnsafeRawBufferPointer) throws {
        try channel.write(header: dataHeader(cookie: cookie, offset: offset, length: UInt32(data.count)), data: data)
    }

    /// What goes in front of a successful read's data.
    func dataHeader(cookie: UInt64, offset: UInt64, length: UInt32) -> [UInt8] {
        structured
            ? Reply.offsetDataHeader(cookie: cookie, offset: offset, dataLength: length, done: true)
            : Reply.simple(cookie: cookie, error: .ok)
    }

    func blockStatus(cookie: UInt64, contextID: UInt32, extents: [Extent]) throws {
        try channel.write(Reply.blockStatus(cookie: cookie, contextID: contextID, extents: extents))
    }
}
