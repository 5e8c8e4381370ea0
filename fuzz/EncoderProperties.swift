/// Values in, bytes out, values back: the input is read as the fields of one
/// value of every encodable type, and decode(encode(x)) must give x back.
/// This reaches values the decoder side rarely sees, such as names just past
/// the 4096-byte limit, which must then be refused rather than cut.
enum EncoderProperties {
    static func check(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        optionHeader(&input)
        requestHeader(&input)
        infoRequest(&input)
        metaContextRequest(&input)
        optionReply(&input)
        replyHeaders(&input)
    }

    static func optionHeader(_ input: inout FuzzInput) {
        let header = OptionHeader(code: OptionCode(rawValue: input.next()), length: input.next())
        require((try? OptionHeader.decode(header.encode())) == header, "OptionHeader \(header) does not round-trip")
    }

    static func requestHeader(_ input: inout FuzzInput) {
        let header = RequestHeader(
            flags: CommandFlags(rawValue: input.next()), command: Command(rawValue: input.next()),
            cookie: input.next(), offset: input.next(), length: input.next())
        require((try? RequestHeader.decode(header.encode())) == header, "RequestHeader \(header) does not round-trip")
    }

    static func infoRequest(_ input: inout FuzzInput) {
        let name = input.string()
        let requests = (0..<Int(input.next() as UInt8)).map { _ in InfoType(rawValue: input.next()) }
        let request = InfoRequest(exportName: name, requests: requests)
        roundTrip(request, request.encode(), strings: [name], decode: InfoRequest.decode)
    }

    static func metaContextRequest(_ input: inout FuzzInput) {
        let name = input.string()
        let queries = (0..<Int(input.next() as UInt8) % 8).map { _ in input.string() }
        let request = MetaContextRequest(exportName: name, queries: queries)
        roundTrip(request, request.encode(), strings: [name] + queries, decode: MetaContextRequest.decode)
    }

    /// Within the limit a value must come back equal; past it (the encoders do
    /// not check) the decoder must refuse it as too long, not truncate it.
    private static func roundTrip<T: Equatable>(_ value: T, _ encoded: [UInt8], strings: [String], decode: ([UInt8]) throws(DecodeError) -> T) {
        let tooLong = strings.first { $0.utf8.count > NBDLimits.maximumStringLength }
        do {
            let decoded = try decode(encoded)
            require(tooLong == nil && decoded == value, "\(T.self) does not round-trip: \(value)")
        } catch {
            guard case .stringTooLong = error, tooLong != nil else { return require(false, "\(T.self) refused its own encoding: \(error)") }
        }
    }

    static func optionReply(_ input: inout FuzzInput) {
        let reply = OptionReply(option: OptionCode(rawValue: input.next()), type: OptionReplyType(rawValue: input.next()), payload: input.bytes(Int(input.next() as UInt8)))
        let encoded = reply.encode()
        guard let header = try? OptionReply.decodeHeader(encoded) else { return require(false, "OptionReply header does not decode") }
        require(header.option == reply.option && header.type == reply.type && Int(header.length) == reply.payload.count, "OptionReply header does not round-trip")
        require(Array(encoded.dropFirst(OptionReply.headerLength)) == reply.payload, "OptionReply payload does not round-trip")
    }

    static func replyHeaders(_ input: inout FuzzInput) {
        let cookie: UInt64 = input.next()
        let error = WireError(rawValue: input.next())
        require((try? ReplyHeader.decode(Reply.simple(cookie: cookie, error: error))) == .simple(cookie: cookie, error: error), "simple reply does not round-trip")
        let type = ChunkType(rawValue: input.next()), flags = ChunkFlags(rawValue: input.next()), length: UInt32 = input.next()
        let chunk = Reply.chunkHeader(cookie: cookie, type: type, flags: flags, length: length)
        require((try? ReplyHeader.decode(chunk)) == .chunk(cookie: cookie, type: type, flags: flags, length: length), "chunk header does not round-trip")
        // An error chunk's length field must cover exactly what follows the header.
        let message = input.string()
        let errorChunk = Reply.errorChunk(cookie: cookie, error: error, message: message)
        guard case let .chunk(_, chunkType, _, payloadLength)? = try? ReplyHeader.decode(errorChunk) else { return require(false, "error chunk does not decode") }
        require(chunkType == .error && Int(payloadLength) == errorChunk.count - Reply.structuredHeaderLength, "error chunk length \(payloadLength) does not match its payload")
    }
}
