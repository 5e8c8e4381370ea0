/// Transmission replies: the simple reply and the chunks of a structured reply.
public enum Reply {
    public static let simpleHeaderLength = 16
    public static let structuredHeaderLength = 20

    /// Simple reply header; for a successful READ the data follows it.
    public static func simple(cookie: UInt64, error: WireError) -> [UInt8] {
        var writer = ByteWriter(capacity: simpleHeaderLength)
        writer.write(NBDMagic.simpleReply)
        writer.write(error.rawValue)
        writer.write(cookie)
        return writer.bytes
    }

    /// A structured chunk header for a payload of `length` bytes that follows it.
    public static func chunkHeader(cookie: UInt64, type: ChunkType, flags: ChunkFlags, length: UInt32) -> [UInt8] {
        var writer = ByteWriter(capacity: structuredHeaderLength + 8)
        writer.write(NBDMagic.structuredReply)
        writer.write(flags.rawValue)
        writer.write(type.rawValue)
        writer.write(cookie)
        writer.write(length)
        return writer.bytes
    }

    /// Header and offset of an OFFSET_DATA chunk; `dataLength` bytes of data follow.
    public static func offsetDataHeader(cookie: UInt64, offset: UInt64, dataLength: UInt32, done: Bool) -> [UInt8] {
        var writer = ByteWriter(capacity: structuredHeaderLength + 8)
        writer.write(chunkHeader(cookie: cookie, type: .offsetData, flags: done ? .done : [], length: 8 + dataLength))
        writer.write(offset)
        return writer.bytes
    }

    /// The final chunk of a command that succeeded without data.
    public static func none(cookie: UInt64) -> [UInt8] {
        chunkHeader(cookie: cookie, type: .none, flags: .done, length: 0)
    }

    /// NBD_REPLY_TYPE_ERROR carrying a human-readable message.
    public static func errorChunk(cookie: UInt64, error: WireError, message: String) -> [UInt8] {
        let text = wireMessage(message)
        var writer = ByteWriter(capacity: structuredHeaderLength + 6 + text.count)
        writer.write(chunkHeader(cookie: cookie, type: .error, flags: .done, length: UInt32(6 + text.count)))
        writer.write(error.rawValue)
        writer.write(UInt16(text.count))
        writer.write(text)
        return writer.bytes
    }

    public static func blockStatus(cookie: UInt64, contextID: UInt32, extents: [Extent]) -> [UInt8] {
        var writer = ByteWriter(capacity: structuredHeaderLength + 4 + 8 * extents.count)
        writer.write(chunkHeader(cookie: cookie, type: .blockStatus, flags: .done, length: UInt32(4 + 8 * extents.count)))
        writer.write(contextID)
        for extent in extents {
            writer.write(extent.length)
            writer.write(extent.flags.rawValue)
        }
        return writer.bytes
    }
}

/// One base:allocation descriptor: a run of bytes with the same allocation state.
public struct Extent: Equatable, Sendable {
    public var length: UInt32
    public var flags: AllocationFlags

    public init(length: UInt32, flags: AllocationFlags) {
        self.length = length
        self.flags = flags
    }
}

/// A decoded transmission reply header, as a client or a test sees it.
public enum ReplyHeader: Equatable, Sendable {
    case simple(cookie: UInt64, error: WireError)
    case chunk(cookie: UInt64, type: ChunkType, flags: ChunkFlags, length: UInt32)

    /// Both kinds start with a 32-bit magic that says how long the header is.
    public static func length(forMagic magic: UInt32) -> Int? {
        switch magic {
        case NBDMagic.simpleReply: Reply.simpleHeaderLength
        case NBDMagic.structuredReply: Reply.structuredHeaderLength
        default: nil
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> ReplyHeader {
        var reader = ByteReader(bytes)
        let magic = try reader.read(UInt32.self)
        switch magic {
        case NBDMagic.simpleReply:
            let error = WireError(rawValue: try reader.read())
            return .simple(cookie: try reader.read(), error: error)
        case NBDMagic.structuredReply:
            let flags = ChunkFlags(rawValue: try reader.read())
            let type = ChunkType(rawValue: try reader.read())
            return .chunk(cookie: try reader.read(), type: type, flags: flags, length: try reader.read())
        default:
            throw .badMagic(expected: UInt64(NBDMagic.simpleReply), actual: UInt64(magic))
        }
    }
}
