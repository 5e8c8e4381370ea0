/// The bytes a workload writes (or feeds into the pipe) at each absolute stream offset, derived from the seed alone.
/// Deriving them from the offset rather than from a running generator means any range can be produced on demand,
/// so neither the writer nor the verifier ever holds more than one chunk, and a mismatch names a position, not a step.
public struct StreamPattern: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// splitmix64 of the 8-byte word index: cheap, and neighbouring words look unrelated.
    @inline(__always)
    func word(at index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fills `buffer` with the pattern bytes for stream offsets `offset ..< offset + buffer.count`.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer, streamOffset offset: UInt64) {
        guard var out = buffer.baseAddress, !buffer.isEmpty else { return }
        var position = offset
        let end = offset + UInt64(buffer.count)
        // Unaligned head, byte by byte, until the stream offset is a multiple of 8.
        while position < end, position % 8 != 0 {
            out.storeBytes(of: byte(at: position), as: UInt8.self)
            out += 1
            position += 1
        }
        while end - position >= 8 {
            out.storeBytes(of: word(at: position / 8).littleEndian, as: UInt64.self)
            out += 8
            position += 8
        }
        while position < end {
            out.storeBytes(of: byte(at: position), as: UInt8.self)
            out += 1
            position += 1
        }
    }

    public func byte(at offset: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: word(at: offset / 8) >> ((offset % 8) * 8))
    }
}
