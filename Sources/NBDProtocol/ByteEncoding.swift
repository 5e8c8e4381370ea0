/// Big-endian encoding into a growing byte array: every NBD integer is network order.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 32) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// A string prefixed by its 32-bit byte length, as options and replies carry names.
    public mutating func writeLengthPrefixed(_ string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        write(utf8)
    }
}

/// Big-endian decoding from a byte slice; every read checks the remaining length,
/// so a lying length field ends in an error rather than a crash.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position = 0
    }

    public var remaining: Int { bytes.count - position }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(needed: size, available: remaining) }
        var value: T = 0
        for byte in bytes[position..<position + size] {
            value = value << 8 | T(byte)
        }
        position += size
        return value
    }

    public mutating func readBytes(_ count: Int) throws(DecodeError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw .truncated(needed: count, available: remaining) }
        defer { position += count }
        return bytes[position..<position + count]
    }

    /// A string whose 32-bit length comes first; lengths beyond `limit` are refused
    /// before anything is read, so the length cannot drive an allocation.
    public mutating func readLengthPrefixedString(limit: Int = NBDLimits.maximumStringLength) throws(DecodeError) -> String {
        let length = try read(UInt32.self)
        guard length <= limit else { throw .stringTooLong(length: length, limit: limit) }
        guard Int(length) <= remaining else { throw .truncated(needed: Int(length), available: remaining) }
        return try decodeUTF8(readBytes(Int(length)))
    }

    public func expectEnd() throws(DecodeError) {
        guard remaining == 0 else { throw .trailingBytes(remaining) }
    }
}

/// A message for the wire, cut to the spec's 4096-byte string limit on a
/// character boundary, so it stays valid UTF-8.
public func wireMessage(_ text: String) -> [UInt8] {
    var length = 0
    for scalar in text.unicodeScalars {
        let width = UTF8.width(scalar)
        guard length + width <= NBDLimits.maximumStringLength else { break }
        length += width
    }
    return Array(text.utf8.prefix(length))
}

func decodeUTF8(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> String {
    guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
    return string
}

public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(needed: Int, available: Int)
    case trailingBytes(Int)
    case badMagic(expected: UInt64, actual: UInt64)
    case stringTooLong(length: UInt32, limit: Int)
    case invalidUTF8

    public var description: String {
        switch self {
        case let .truncated(needed, available): "truncated: needed \(needed) bytes, \(available) available"
        case let .trailingBytes(count): "\(count) unexpected trailing bytes"
        case let .badMagic(expected, actual):
            "bad magic 0x\(String(actual, radix: 16)), expected 0x\(String(expected, radix: 16))"
        case let .stringTooLong(length, limit): "string of \(length) bytes exceeds the limit of \(limit)"
        case .invalidUTF8: "string is not valid UTF-8"
        }
    }
}
