/// What the pipe must carry, as contiguous runs of pattern bytes and zeroes starting at offset 0.
/// Kept as runs so gigabytes of expected output cost a few entries, not memory.
public struct ExpectedStream: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case pattern
        case zeroes
    }

    public struct Run: Sendable, Equatable {
        public let start: UInt64
        public let length: UInt64
        public let content: Content
        var end: UInt64 { start + length }
    }

    public private(set) var runs: [Run] = []

    public init() {}

    public var length: UInt64 { runs.last?.end ?? 0 }

    public mutating func append(_ content: Content, length: UInt64) {
        guard length > 0 else { return }
        if let last = runs.last, last.content == content {
            runs[runs.count - 1] = Run(start: last.start, length: last.length + length, content: content)
        } else {
            runs.append(Run(start: self.length, length: length, content: content))
        }
    }

    /// Fills `buffer` with the expected bytes from `offset`; the range must lie within `length`.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: UInt64, pattern: StreamPattern) {
        var position = offset
        var written = 0
        var index = runIndex(containing: offset)
        while written < buffer.count, index < runs.count {
            let run = runs[index]
            let take = Int(min(UInt64(buffer.count - written), run.end - position))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[written ..< written + take])
            switch run.content {
            case .pattern: pattern.fill(slice, streamOffset: position)
            case .zeroes: slice.initializeMemory(as: UInt8.self, repeating: 0)
            }
            written += take
            position += UInt64(take)
            index += 1
        }
    }

    private func runIndex(containing offset: UInt64) -> Int {
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
