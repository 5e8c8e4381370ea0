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
        try bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try RequestHeader(decoding: raw) } }.get()
    }

    /// Decodes the header at the start of `raw` (which may hold more after
    /// it) without copying: the server decodes every request this way.
    public init(decoding raw: UnsafeRawBufferPointer) throws(DecodeError) {
        let length = NBDLimits.requestHeaderLength
        guard raw.count >= length else { throw .truncated(needed: length, available: raw.count) }
        func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let magic = field(0, UInt32.self)
        guard magic == NBDMagic.request else { throw .badMagic(expected: UInt64(NBDMagic.request), actual: UInt64(magic)) }
        self.init(
            flags: CommandFlags(rawValue: field(4, UInt16.self)),
            command: Command(rawValue: field(6, UInt16.self)),
            cookie: field(8, UInt64.self),
            offset: field(16, UInt64.self),
            length: field(24, UInt32.self)
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
