/// The 28-byte header of a transmission request; WRITE carries `length` bytes after it.
public struct RequestHeader: Equatable, Sendable {
    public var flags: CommandFlags
    public var command: Command
    public var cookie: UInt64
    public var offset: UInt64
    public var length: UInt32

    public init(flags: CommandFlags = [], command: Command, cookie: UInt64, offset: UInt64, length: UInt32) {
        self.flags = flags
        self.command = command
        self.cookie = cookie
        self.offset = offset
        self.length = length
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> RequestHeader {
        var reader = ByteReader(bytes)
        let magic = try reader.read(UInt32.self)
        guard magic == NBDMagic.request else { throw .badMagic(expected: UInt64(NBDMagic.request), actual: UInt64(magic)) }
        return RequestHeader(
            flags: CommandFlags(rawValue: try reader.read()),
            command: Command(rawValue: try reader.read()),
            cookie: try reader.read(),
            offset: try reader.read(),
            length: try reader.read()
        )
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: NBDLimits.requestHeaderLength)
        writer.write(NBDMagic.request)
        writer.write(flags.rawValue)
        writer.write(command.rawValue)
        writer.write(cookie)
        writer.write(offset)
        writer.write(length)
        return writer.bytes
    }

    /// Whether the request is followed by a payload of `length` bytes.
    public var hasPayload: Bool { command == .write }
}
