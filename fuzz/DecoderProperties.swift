/// Bytes in, values out: each decoder takes the raw input. Beyond "does not
/// crash" (which the sanitizers watch), every decoder must accept exactly the
/// inputs its wire layout allows, and what it accepts must encode back to the
/// very bytes it came from, so a decoder cannot quietly drop or invent a field.
enum DecoderProperties {
    static func check(_ bytes: [UInt8]) {
        optionHeader(bytes)
        infoRequest(bytes)
        metaContextRequest(bytes)
        requestHeader(bytes)
        replyHeader(bytes)
        clientFlags(bytes)
        optionReplyHeader(bytes)
        lengthPrefixedString(bytes)
    }

    private static func startsWith<T: FixedWidthInteger>(_ bytes: [UInt8], _ magic: T) -> Bool {
        var writer = ByteWriter()
        writer.write(magic)
        return bytes.starts(with: writer.bytes)
    }

    static func optionHeader(_ bytes: [UInt8]) {
        let wellFormed = bytes.count >= NBDLimits.optionHeaderLength && startsWith(bytes, NBDMagic.options)
        guard let header = try? OptionHeader.decode(bytes) else {
            return require(!wellFormed, "OptionHeader refused a well-formed header \(bytes.prefix(16))")
        }
        require(wellFormed, "OptionHeader accepted \(bytes.prefix(16))")
        require(header.encode() == Array(bytes.prefix(NBDLimits.optionHeaderLength)), "OptionHeader does not re-encode to its bytes")
        // As on the wire: the option's payload is what follows, cut at its length.
        let payload = Array(bytes.dropFirst(NBDLimits.optionHeaderLength).prefix(Int(header.length)))
        infoRequest(payload)
        metaContextRequest(payload)
    }

    static func infoRequest(_ bytes: [UInt8]) {
        guard let request = try? InfoRequest.decode(bytes) else { return }
        require(request.exportName.utf8.count <= NBDLimits.maximumStringLength, "InfoRequest accepted a name over the limit")
        require(request.encode() == bytes, "InfoRequest does not re-encode to its bytes")
    }

    static func metaContextRequest(_ bytes: [UInt8]) {
        guard let request = try? MetaContextRequest.decode(bytes) else { return }
        let strings = [request.exportName] + request.queries
        require(strings.allSatisfy { $0.utf8.count <= NBDLimits.maximumStringLength }, "MetaContextRequest accepted a string over the limit")
        require(request.encode() == bytes, "MetaContextRequest does not re-encode to its bytes")
    }

    static func requestHeader(_ bytes: [UInt8]) {
        let wellFormed = bytes.count >= NBDLimits.requestHeaderLength && startsWith(bytes, NBDMagic.request)
        guard let header = try? RequestHeader.decode(bytes) else {
            return require(!wellFormed, "RequestHeader refused a well-formed header")
        }
        require(wellFormed, "RequestHeader accepted \(bytes.prefix(28))")
        require(header.encode() == Array(bytes.prefix(NBDLimits.requestHeaderLength)), "RequestHeader does not re-encode to its bytes")
    }

    static func replyHeader(_ bytes: [UInt8]) {
        let magic = bytes.count >= 4 ? bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : nil
        let expectedLength = magic.flatMap(ReplyHeader.length(forMagic:))
        guard let header = try? ReplyHeader.decode(bytes) else {
            return require(expectedLength.map { bytes.count < $0 } ?? true, "ReplyHeader refused a well-formed header")
        }
        guard let expectedLength else { return require(false, "ReplyHeader accepted an unknown magic") }
        let encoded: [UInt8] = switch header {
        case let .simple(cookie, error): Reply.simple(cookie: cookie, error: error)
        case let .chunk(cookie, type, flags, length): Reply.chunkHeader(cookie: cookie, type: type, flags: flags, length: length)
        }
        require(encoded.count == expectedLength, "ReplyHeader.length(forMagic:) disagrees with the encoder")
        require(encoded == Array(bytes.prefix(expectedLength)), "ReplyHeader does not re-encode to its bytes")
    }

    static func clientFlags(_ bytes: [UInt8]) {
        guard let flags = try? Greeting.decodeClientFlags(bytes) else {
            return require(bytes.count < Greeting.clientFlagsLength, "client flags refused four bytes")
        }
        var writer = ByteWriter()
        writer.write(flags.rawValue)
        require(writer.bytes == Array(bytes.prefix(Greeting.clientFlagsLength)), "client flags do not re-encode to their bytes")
    }

    static func optionReplyHeader(_ bytes: [UInt8]) {
        let wellFormed = bytes.count >= OptionReply.headerLength && startsWith(bytes, NBDMagic.optionReply)
        guard let header = try? OptionReply.decodeHeader(bytes) else {
            return require(!wellFormed, "OptionReply.decodeHeader refused a well-formed header")
        }
        require(wellFormed, "OptionReply.decodeHeader accepted \(bytes.prefix(20))")
        // The whole reply round-trips when its payload is all there.
        let end = OptionReply.headerLength + Int(header.length)
        guard bytes.count >= end else { return }
        let reply = OptionReply(option: header.option, type: header.type, payload: Array(bytes[OptionReply.headerLength..<end]))
        require(reply.encode() == Array(bytes[..<end]), "OptionReply does not re-encode to its bytes")
    }

    /// The primitive under every name: a length that overruns the input or the
    /// limit must be refused, never trusted.
    static func lengthPrefixedString(_ bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard let string = try? reader.readLengthPrefixedString() else { return }
        let length = string.utf8.count
        require(length <= NBDLimits.maximumStringLength, "a string over the limit was read")
        require(reader.position == 4 + length, "the reader moved \(reader.position) bytes for a \(length)-byte string")
        require(Array(bytes[4..<4 + length]) == Array(string.utf8), "the string's bytes changed")
    }
}
