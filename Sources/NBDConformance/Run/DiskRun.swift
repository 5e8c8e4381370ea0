import Glibc
import NBDClient

/// Runs disk-profile requests in batches: the requests of one batch are in flight together (so they never
/// overlap), and each reply is judged against the disk model; a read is compared byte for byte where the model
/// knows the bytes. A request longer than the model's request limit goes as pieces within it.
extension CaseContext {
    func runDisk(_ batches: [[DiskRequest]], model: inout DiskModel, on given: NBDConnection? = nil) throws {
        let connection = try given ?? connect()
        defer { if given == nil { try? connection.shutdown() } }
        var discrepancies: [String] = []
        var index = 0
        for batch in batches {
            for request in batch.flatMap({ $0.split(within: model.requestLimit) }) {
                let (expected, expectation) = model.apply(request)
                let number = index
                index += 1
                try submitDisk(request, on: connection, seed: model.seed) { code, data in
                    if let problem = Self.judgeDisk(code: code, data: data, expected: expected, expectation: expectation,
                                                    strict: self.strict) {
                        discrepancies.append("request #\(number) \(request): expected \(expected), got \(problem)")
                    }
                }
            }
            try expectSuccess("sending the workload") { try connection.waitUntilInFlight(atMost: 0) }
        }
        guard let first = discrepancies.first else { return }
        var details = Array(discrepancies.prefix(10))
        if discrepancies.count > 10 { details.append("… and \(discrepancies.count - 10) more") }
        details.append("seed \(seed)")
        throw CaseFailure(first, details: details.joined(separator: "\n"), kind: .wrongReply)
    }

    private static func judgeDisk(code: Int32, data: [UInt8]?, expected: ExpectedOutcome, expectation: DiskModel.Expectation?,
                                  strict: Bool) -> String? {
        switch expected {
        case .success, .data:
            guard code == 0 else { return "failure \(errnoName(code))" }
            guard let expectation, let data else { return nil }
            for offset in 0 ..< data.count where expectation.known[offset] && data[offset] != expectation.bytes[offset] {
                return "different data at request byte \(offset): expected 0x\(String(expectation.bytes[offset], radix: 16)), "
                    + "read 0x\(String(data[offset], radix: 16)) (read \(hexContext(data, around: offset)); "
                    + "expected \(hexContext(expectation.bytes, around: offset)))"
            }
            return nil
        case .failure(let wanted):
            return code == wanted ? nil : (code == 0 ? "success" : "failure \(errnoName(code))")
        case .refused(let preferred):
            if code == 0 { return "success" }
            return code == preferred || !strict ? nil : "failure \(errnoName(code))"
        case .anyFailure:
            return code != 0 ? nil : "success"
        case .successOrFailure(let errnos):
            return code == 0 || errnos.contains(code) ? nil : "failure \(errnoName(code))"
        }
    }

    private static func hexContext(_ data: [UInt8], around offset: Int) -> String {
        data[max(0, offset - 4) ..< min(data.count, offset + 5)].map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    private func submitDisk(_ request: DiskRequest, on connection: NBDConnection, seed: UInt64,
                            completion: @escaping (Int32, [UInt8]?) -> Void) throws {
        switch request {
        case .write(let offset, let length, let fua, let generation):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 8)
            DiskModel.pattern(seed: seed, generation: generation).fill(buffer, streamOffset: offset)
            do {
                try connection.submitPwrite(UnsafeRawBufferPointer(buffer), offset: offset, flags: fua ? .fua : []) { code in
                    buffer.deallocate()
                    completion(code, nil)
                }
            } catch {
                buffer.deallocate()
                throw error
            }
        case .read(let offset, let length):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 8)
            do {
                try connection.submitPread(into: buffer, offset: offset) { code in
                    defer { buffer.deallocate() }
                    completion(code, code == 0 ? Array(buffer) : nil)
                }
            } catch {
                buffer.deallocate()
                throw error
            }
        case .zero(let offset, let length, let noHole):
            try connection.submitZero(count: length, offset: offset, flags: noHole ? .noHole : []) { completion($0, nil) }
        case .trim(let offset, let length):
            try connection.submitTrim(count: length, offset: offset) { completion($0, nil) }
        case .cache(let offset, let length):
            try connection.submitCache(count: length, offset: offset) { completion($0, nil) }
        case .flush:
            try connection.submitFlush { completion($0, nil) }
        }
    }
}
