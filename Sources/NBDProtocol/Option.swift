/// The 16-byte header in front of every client option.
public struct OptionHeader: Equatable, Sendable {
    public var code: OptionCode
    public var length: UInt32

    public init(code: OptionCode, length: UInt32) {
        self.code = code
        self.length = length
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> OptionHeader {
        var reader = ByteReader(bytes)
        let magic = try reader.read(UInt64.self)
        guard magic == NBDMagic.options else { throw .badMagic(expected: NBDMagic.options, actual: magic) }
        return OptionHeader(code: OptionCode(rawValue: try reader.read()), length: try reader.read())
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: NBDLimits.optionHeaderLength)
        writer.write(NBDMagic.options)
        writer.write(code.rawValue)
        writer.write(length)
        return writer.bytes
    }
}

/// Payload of NBD_OPT_INFO and NBD_OPT_GO: an export name and the items wanted.
public struct InfoRequest: Equatable, Sendable {
    public var exportName: String
    public var requests: [InfoType]

    public init(exportName: String, requests: [InfoType]) {
        self.exportName = exportName
        self.requests = requests
    }

    public static func decode(_ payload: [UInt8]) throws(DecodeError) -> InfoRequest {
        var reader = ByteReader(payload)
        let name = try reader.readLengthPrefixedString()
        let count = try reader.read(UInt16.self)
        guard reader.remaining == Int(count) * 2 else {
            throw reader.remaining < Int(count) * 2
                ? .truncated(needed: Int(count) * 2, available: reader.remaining)
                : .trailingBytes(reader.remaining - Int(count) * 2)
        }
        var requests: [InfoType] = []
        for _ in 0..<count { requests.append(InfoType(rawValue: try reader.read())) }
        return InfoRequest(exportName: name, requests: requests)
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeLengthPrefixed(exportName)
        writer.write(UInt16(requests.count))
        for request in requests { writer.write(request.rawValue) }
        return writer.bytes
    }
}

/// Payload of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT.
public struct MetaContextRequest: Equatable, Sendable {
    public var exportName: String
    public var queries: [String]

    public init(exportName: String, queries: [String]) {
        self.exportName = exportName
        self.queries = queries
    }

    public static func decode(_ payload: [UInt8]) throws(DecodeError) -> MetaContextRequest {
        var reader = ByteReader(payload)
        let name = try reader.readLengthPrefixedString()
        let count = try reader.read(UInt32.self)
        // Each query needs at least its 4-byte length, so the count is checked
        // against the payload before it can size anything.
        guard UInt64(count) * 4 <= UInt64(reader.remaining) else {
            throw .truncated(needed: Int(count) * 4, available: reader.remaining)
        }
        var queries: [String] = []
        for _ in 0..<count { queries.append(try reader.readLengthPrefixedString()) }
        try reader.expectEnd()
        return MetaContextRequest(exportName: name, queries: queries)
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeLengthPrefixed(exportName)
        writer.write(UInt32(queries.count))
        for query in queries { writer.writeLengthPrefixed(query) }
        return writer.bytes
    }
}

/// One reply to an option: header plus payload.
public struct OptionReply: Equatable, Sendable {
    public var option: OptionCode
    public var type: OptionReplyType
    public var payload: [UInt8]

    public init(option: OptionCode, type: OptionReplyType, payload: [UInt8] = []) {
        self.option = option
        self.type = type
        self.payload = payload
    }

    /// An error reply whose payload is a message for humans, as the spec allows.
    public static func error(_ option: OptionCode, _ type: OptionReplyType, message: String) -> OptionReply {
        OptionReply(option: option, type: type, payload: wireMessage(message))
    }

    /// NBD_REP_SERVER: one export of NBD_OPT_LIST.
    public static func server(name: String, description: String?) -> OptionReply {
        var writer = ByteWriter()
        writer.writeLengthPrefixed(name)
        if let description { writer.write(description.utf8) }
        return OptionReply(option: .list, type: .server, payload: writer.bytes)
    }

    public static func infoExport(_ option: OptionCode, size: UInt64, flags: TransmissionFlags) -> OptionReply {
        var writer = ByteWriter(capacity: 12)
        writer.write(InfoType.export.rawValue)
        writer.write(size)
        writer.write(flags.rawValue)
        return OptionReply(option: option, type: .info, payload: writer.bytes)
    }

    public static func infoName(_ option: OptionCode, name: String) -> OptionReply {
        infoString(option, .name, name)
    }

    public static func infoDescription(_ option: OptionCode, description: String) -> OptionReply {
        infoString(option, .description, description)
    }

    private static func infoString(_ option: OptionCode, _ type: InfoType, _ text: String) -> OptionReply {
        var writer = ByteWriter()
        writer.write(type.rawValue)
        writer.write(text.utf8)
        return OptionReply(option: option, type: .info, payload: writer.bytes)
    }

    public static func infoBlockSize(_ option: OptionCode, _ sizes: BlockSizeConstraints) -> OptionReply {
        var writer = ByteWriter(capacity: 14)
        writer.write(InfoType.blockSize.rawValue)
        writer.write(sizes.minimum)
        writer.write(sizes.preferred)
        writer.write(sizes.maximum)
        return OptionReply(option: option, type: .info, payload: writer.bytes)
    }

    public static func metaContext(_ option: OptionCode, id: UInt32, name: String) -> OptionReply {
        var writer = ByteWriter()
        writer.write(id)
        writer.write(name.utf8)
        return OptionReply(option: option, type: .metaContext, payload: writer.bytes)
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 20 + payload.count)
        writer.write(NBDMagic.optionReply)
        writer.write(option.rawValue)
        writer.write(type.rawValue)
        writer.write(UInt32(payload.count))
        writer.write(payload)
        return writer.bytes
    }

    public static let headerLength = 20

    /// Decodes a reply header; the payload follows on the wire and is read separately.
    public static func decodeHeader(_ bytes: [UInt8]) throws(DecodeError) -> (option: OptionCode, type: OptionReplyType, length: UInt32) {
        var reader = ByteReader(bytes)
        let magic = try reader.read(UInt64.self)
        guard magic == NBDMagic.optionReply else { throw .badMagic(expected: NBDMagic.optionReply, actual: magic) }
        return (OptionCode(rawValue: try reader.read()), OptionReplyType(rawValue: try reader.read()), try reader.read())
    }
}

/// Minimum, preferred and maximum request sizes (NBD_INFO_BLOCK_SIZE).
public struct BlockSizeConstraints: Equatable, Sendable {
    public var minimum: UInt32
    public var preferred: UInt32
    public var maximum: UInt32

    public init(minimum: UInt32, preferred: UInt32, maximum: UInt32) {
        self.minimum = minimum
        self.preferred = preferred
        self.maximum = maximum
    }
}
