import Foundation
import Glibc
import Testing
@testable import NBDConformance

/// The verifier against a real FIFO fed by a thread in this test: exact, corrupted, short and long streams.
struct PipeVerifierTests {
    private static let pattern = StreamPattern(seed: 11)

    private static func expectedStream() -> ExpectedStream {
        var stream = ExpectedStream()
        stream.append(.pattern, length: 3000)
        stream.append(.zeroes, length: 2_000_000)
        stream.append(.pattern, length: 77)
        return stream
    }

    /// Writes `bytes` into a fresh FIFO while the verifier reads it, and returns the verdict.
    private func verdict(for bytes: [UInt8]) throws -> PipeVerdict {
        let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
        defer { SpawnedServerEnvironment.removeDirectory(directory) }
        let path = directory + "/pipe"
        try Fifo.create(at: path)
        let verifier = PipeVerifier(end: .own(path), expected: Self.expectedStream(), pattern: Self.pattern, ending: .endOfFile)
        verifier.start()
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        var done = 0
        while done < bytes.count {
            let count = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            try #require(count > 0)
            done += count
        }
        close(fd)
        return try #require(verifier.result(within: 10))
    }

    private func exactBytes() -> [UInt8] {
        let stream = Self.expectedStream()
        var bytes = [UInt8](repeating: 0, count: Int(stream.length))
        bytes.withUnsafeMutableBytes { stream.fill($0, from: 0, pattern: Self.pattern) }
        return bytes
    }

    @Test func exactStreamMatches() throws {
        #expect(try verdict(for: exactBytes()) == .matched(bytes: 2_003_077))
    }

    @Test func corruptedByteIsReportedWithItsOffsetAndHexContext() throws {
        var bytes = exactBytes()
        bytes[2_001_500] = 0xAB
        guard case .mismatch(let mismatch, _, _) = try verdict(for: bytes) else {
            Issue.record("the corruption was not reported as a mismatch")
            return
        }
        #expect(mismatch.offset == 2_001_500)
        #expect(mismatch.hexReport.contains("actual   00 00"))
        #expect(mismatch.hexReport.contains(" ab "))
    }

    @Test func shortStreamEndedEarly() throws {
        #expect(try verdict(for: Array(exactBytes().dropLast())) == .endedEarly(received: 2_003_076, expected: 2_003_077))
    }

    /// A short case can stop its server before the verifier's thread reaches open(): once let go, the verifier
    /// must still get through it and find the (empty) stream's end, whichever comes first.
    @Test func verifierThatOpensAfterTheServerStoppedStillFinishes() throws {
        let directory = try SpawnedServerEnvironment.makeTemporaryDirectory()
        defer { SpawnedServerEnvironment.removeDirectory(directory) }
        let path = directory + "/pipe"
        try Fifo.create(at: path)
        let verifier = PipeVerifier(end: .own(path), expected: ExpectedStream(), pattern: Self.pattern, ending: .endOfFile)
        let released = DispatchSemaphore(value: 0)
        Thread {
            verifier.releaseOpen(within: 10)
            released.signal()
        }.start()
        verifier.start()
        #expect(verifier.result(within: 10) == .matched(bytes: 0))
        #expect(released.wait(timeout: .now() + 10) == .success)
    }

    @Test func longStreamRanLong() throws {
        #expect(try verdict(for: exactBytes() + [1, 2]) == .ranLong(received: 2_003_079, expected: 2_003_077, mismatch: nil))
    }
}
