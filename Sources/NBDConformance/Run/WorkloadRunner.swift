import Glibc
import NBDClient

/// Sends requests with up to `depth` in flight and checks each reply against the model's expected outcome.
/// Buffers are allocated per request and freed on completion, so memory is bounded by depth × request size.
struct WorkloadRunner {
    let connection: NBDConnection
    let pattern: StreamPattern
    let depth: Int
    /// Whether the errnos the spec only recommends (`.refused(preferring:)`) must match too.
    let strict: Bool

    /// A request whose reply differed from the model.
    struct Discrepancy: CustomStringConvertible {
        let index: Int
        let request: StreamRequest
        let expected: ExpectedOutcome
        let actual: String
        var description: String { "request #\(index) \(request): expected \(expected), got \(actual)" }
    }

    /// Runs `requests` in order, each paired with its expected outcome; returns the discrepancies found.
    func run(_ requests: [(StreamRequest, ExpectedOutcome)]) throws -> [Discrepancy] {
        var discrepancies: [Discrepancy] = []
        for (index, (request, expected)) in requests.enumerated() {
            try connection.waitUntilInFlight(atMost: depth - 1)
            try submit(request, expected: expected) { actual in
                if let problem = Self.judge(actual, against: expected, strict: strict) {
                    discrepancies.append(Discrepancy(index: index, request: request, expected: expected, actual: problem))
                }
            }
        }
        try connection.waitUntilInFlight(atMost: 0)
        return discrepancies
    }

    /// What came back from one request: an errno, or for reads whether the data matched.
    enum Reply {
        case status(Int32)
        case readData(matched: Bool, firstDifference: Int?)
    }

    private static func judge(_ reply: Reply, against expected: ExpectedOutcome, strict: Bool) -> String? {
        switch (reply, expected) {
        case (.status(0), .success), (.readData(true, _), .data): return nil
        case (.status(let code), .failure(let wanted)) where code == wanted: return nil
        case (.status(let code), .refused(let preferred)) where code != 0 && (code == preferred || !strict): return nil
        case (.status(let code), .anyFailure) where code != 0: return nil
        case (.status(let code), .successOrFailure(let errnos)) where code == 0 || errnos.contains(code): return nil
        case (.readData(false, let at), .data): return "different data from request byte \(at ?? 0)"
        case (.readData, _): return "success"
        case (.status(0), _): return "success"
        case (.status(let code), _): return "failure \(errnoName(code))"
        }
    }

    private func submit(_ request: StreamRequest, expected: ExpectedOutcome, completion: @escaping (Reply) -> Void) throws {
        switch request {
        case .write(let offset, let length, let fua):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 8)
            pattern.fill(buffer, streamOffset: offset)
            do {
                try connection.submitPwrite(UnsafeRawBufferPointer(buffer), offset: offset, flags: fua ? .fua : []) { code in
                    buffer.deallocate()
                    completion(.status(code))
                }
            } catch {
                buffer.deallocate()
                throw error
            }
        case .zero(let offset, let length):
            try connection.submitZero(count: length, offset: offset) { completion(.status($0)) }
        case .flush:
            try connection.submitFlush { completion(.status($0)) }
        case .read(let offset, let length):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 8)
            do {
                try connection.submitPread(into: buffer, offset: offset) { [pattern] code in
                    defer { buffer.deallocate() }
                    // A read expected to fail has no data to compare; its status is all that is judged.
                    guard code == 0, case .data(let content) = expected else { return completion(.status(code)) }
                    let difference = Self.firstDifference(buffer, offset: offset, content: content, pattern: pattern)
                    completion(.readData(matched: difference == nil, firstDifference: difference))
                }
            } catch {
                buffer.deallocate()
                throw error
            }
        }
    }

    /// The index of the first byte that differs from what the read should have returned, or nil.
    private static func firstDifference(
        _ buffer: UnsafeMutableRawBufferPointer, offset: UInt64, content: ExpectedStream.Content, pattern: StreamPattern
    ) -> Int? {
        let expected = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count, alignment: 8)
        defer { expected.deallocate() }
        switch content {
        case .zeroes: expected.initializeMemory(as: UInt8.self, repeating: 0)
        case .pattern: pattern.fill(expected, streamOffset: offset)
        }
        guard memcmp(buffer.baseAddress!, expected.baseAddress!, buffer.count) != 0 else { return nil }
        return (0 ..< buffer.count).first { buffer[$0] != expected[$0] }
    }
}
