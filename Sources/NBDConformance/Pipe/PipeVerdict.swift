/// What the verifier found on the pipe.
enum PipeVerdict: Sendable, Equatable {
    case matched(bytes: UInt64)
    case mismatch(StreamMismatch, received: UInt64, expected: UInt64)
    case endedEarly(received: UInt64, expected: UInt64)
    case ranLong(received: UInt64, expected: UInt64, mismatch: StreamMismatch?)
    case unreadable(String)

    var problem: String? {
        switch self {
        case .matched: nil
        case .mismatch(let mismatch, let received, let expected):
            "pipe content differs at offset \(mismatch.offset) (stream of \(received) bytes, expected \(expected))\n\(mismatch.hexReport)"
        case .endedEarly(let received, let expected):
            "pipe ended early: \(received) bytes received, \(expected) expected"
        case .ranLong(let received, let expected, let mismatch):
            "pipe ran long: at least \(received) bytes received, \(expected) expected"
                + (mismatch.map { "; also differs at offset \($0.offset)\n\($0.hexReport)" } ?? "")
        case .unreadable(let reason): "pipe unreadable: \(reason)"
        }
    }
}

/// The first differing byte with 16 bytes of context either side, as hex, from both streams.
struct StreamMismatch: Sendable, Equatable {
    let offset: UInt64
    let contextStart: UInt64
    let expectedBytes: [UInt8]
    let actualBytes: [UInt8]

    static let context = 16

    init(offset: UInt64, index: Int, actual: UnsafeMutableRawBufferPointer, expected: UnsafeMutableRawBufferPointer, count: Int) {
        let from = max(0, index - Self.context)
        let to = min(count, index + Self.context + 1)
        self.offset = offset
        self.contextStart = offset - UInt64(index - from)
        self.expectedBytes = Array(expected[from ..< to])
        self.actualBytes = Array(actual[from ..< to])
    }

    var hexReport: String {
        let marker = String(repeating: "   ", count: Int(offset - contextStart)) + "^^"
        return """
            offset \(contextStart):
              expected \(Self.hex(expectedBytes))
              actual   \(Self.hex(actualBytes))
                       \(marker)
            """
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}
