import Foundation
import NBDClient
import TestSupport
import Testing

/// Write mode: what the client writes comes out of the pipe, in order, and
/// anything that would reorder the stream fails for good.
@Suite struct WriteModeTests {
    let fixture: DrainedPipe
    init() throws { fixture = try DrainedPipe() }

    var directory: TestDirectory { fixture.directory }
    var pipe: String { fixture.path }
    var reader: PipeReader { fixture.reader }

    func startServer(_ extra: [String] = []) throws -> ServerProcess {
        try ServerProcess(["write=\(pipe)"] + extra, in: directory)
    }

    @Test func sequentialWritesComeOutOfThePipeByteForByte() throws {
        let server = try startServer()
        let data = testPattern(count: 3 * 1024 * 1024 + 17)
        let connection = try server.connect()
        var offset = 0
        for size in [1, 512, 4096, 65536, 1 << 20, 7, 999_999] where offset < data.count {
            let end = min(offset + size, data.count)
            try connection.pwrite(Array(data[offset..<end]), offset: UInt64(offset))
            offset = end
        }
        try connection.pwrite(Array(data[offset...]), offset: UInt64(offset))
        try connection.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(try firstDifference(reader.contents(), data) == nil)
    }

    @Test func forwardGapIsZeroFilled() throws {
        let server = try startServer()
        let first = testPattern(count: 1000, seed: 1), second = testPattern(count: 1000, seed: 2)
        let connection = try server.connect()
        try connection.pwrite(first, offset: 0)
        try connection.pwrite(second, offset: 5000)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == first + [UInt8](repeating: 0, count: 4000) + second)
    }

    @Test func writeZeroesAppendsZeroesBeyondTheMaximumPayload() throws {
        let server = try startServer()
        let data = testPattern(count: 100)
        // Longer than the 32 MiB a payload may have: WRITE_ZEROES carries none.
        let zeroes = 40 << 20
        let connection = try server.connect()
        try connection.pwrite(data, offset: 0)
        try connection.zero(count: UInt64(zeroes), offset: 100, flags: [.noHole])
        try connection.pwrite(data, offset: UInt64(100 + zeroes))
        try connection.flush()
        try connection.shutdown()
        server.stop()
        #expect(try firstDifference(reader.contents(), data + [UInt8](repeating: 0, count: zeroes) + data) == nil)
    }

    @Test func fastZeroIsRefusedWithoutTouchingTheStream() throws {
        let server = try startServer()
        let connection = try server.connect()
        #expect(try connection.canFastZero())
        let error = #expect(throws: NBDError.self) { try connection.zero(count: 4096, offset: 0, flags: [.fastZero]) }
        #expect(error?.errno == ENOTSUP)
        try connection.pwrite([1, 2, 3], offset: 0, flags: [.fua])
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [1, 2, 3])
    }

    @Test func backwardWriteFailsAndEntersTheErrorState() throws {
        let server = try startServer()
        let connection = try server.connect()
        try connection.pwrite([1, 2, 3, 4], offset: 0)
        let backward = #expect(throws: NBDError.self) { try connection.pwrite([9], offset: 2) }
        #expect(backward?.errno == EIO)
        // Every later request fails, even one that would otherwise be fine.
        let later = #expect(throws: NBDError.self) { try connection.pwrite([5], offset: 4) }
        #expect(later?.errno == EIO)
        #expect(throws: NBDError.self) { try connection.flush() }
        // And no new client gets in.
        #expect(throws: NBDError.self) { _ = try server.connect() }
        server.stop()
        #expect(try reader.contents() == [1, 2, 3, 4])
        #expect(server.log.contains("client tried to seek backwards and write"))
        #expect(server.log.contains("no new connections can be opened"))
    }

    @Test func readsAtOrAboveTheHighwaterReturnZeroes() throws {
        let server = try startServer()
        let connection = try server.connect()
        try connection.pwrite([7, 7, 7, 7], offset: 0)
        #expect(try connection.pread(count: 8, offset: 4) == [UInt8](repeating: 0, count: 8))
        #expect(try connection.pread(count: 8, offset: 1 << 30) == [UInt8](repeating: 0, count: 8))
        // Reading does not move the stream: the next write still appends at 4.
        try connection.pwrite([8], offset: 4)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [7, 7, 7, 7, 8])
    }

    @Test func readBelowTheHighwaterFailsAndEntersTheErrorState() throws {
        let server = try startServer()
        let connection = try server.connect()
        try connection.pwrite([1, 2, 3, 4], offset: 0)
        let error = #expect(throws: NBDError.self) { _ = try connection.pread(count: 2, offset: 3) }
        #expect(error?.errno == EIO)
        #expect(throws: NBDError.self) { try connection.pwrite([5], offset: 4) }
        server.stop()
        #expect(try reader.contents() == [1, 2, 3, 4])
    }

    @Test func secondConnectionContinuesTheStream() throws {
        let server = try startServer()
        let first = try server.connect()
        try first.pwrite([1, 2], offset: 0)
        try first.shutdown()
        let second = try server.connect()
        try second.pwrite([3, 4], offset: 2)
        let backward = #expect(throws: NBDError.self) { try second.pwrite([0], offset: 0) }
        #expect(backward?.errno == EIO)
        server.stop()
        #expect(try reader.contents() == [1, 2, 3, 4])
    }

    @Test func emptyStreamEndsWithEndOfFile() throws {
        let server = try startServer()
        let connection = try server.connect()
        try connection.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(try reader.contents() == [])
    }

    @Test func blockStatusReportsTheUnwrittenTailAsAHole() throws {
        let server = try startServer()
        let connection = try NBDConnection()
        try connection.addMetaContext("base:allocation")
        try connection.connect(.unix(path: server.socket))
        try connection.pwrite(testPattern(count: 4096), offset: 0)
        // A range far longer than any payload: block status carries none.
        let extents = try connection.blockStatus(count: 1 << 30, offset: 0)
        #expect(extents.map(\.length) == [4096, (1 << 30) - 4096])
        #expect(extents.map(\.flags) == [0, 3])
        try connection.cache(count: 1 << 30, offset: 0)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents().count == 4096)
    }
}
