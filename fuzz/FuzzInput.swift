/// Reads fuzzer bytes as typed fields. An exhausted input reads as zeroes, so
/// every input, however short, still builds one value of every type.
struct FuzzInput {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func next<T: FixedWidthInteger>() -> T {
        var value: T = 0
        for _ in 0..<MemoryLayout<T>.size { value = value << 8 | T(byte()) }
        return value
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in byte() }
    }

    /// A piece repeated a number of times: short inputs can then make strings
    /// on both sides of the 4096-byte limit. Invalid UTF-8 is repaired, as a
    /// Swift String always is, so the bytes may grow (U+FFFD is three bytes).
    mutating func string() -> String {
        let piece = bytes(Int(next() as UInt8) % 16)
        let repeats = Int(next() as UInt16) % 1100
        return String(decoding: Array([[UInt8]](repeating: piece, count: repeats).joined()), as: UTF8.self)
    }

    private mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }
}
