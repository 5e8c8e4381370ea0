import Foundation
import NBDClient
import TestSupport
import Testing

/// Read mode: the pipe feeds the client's reads, in order, and only forwards.
@Suite struct ReadModeTests {
    let directory: TestDirectory
    let pipe: String

    init() throws {
        directory = try TestDirectory()
        pipe = try directory.makeFIFO("pipe")
    }

    func startServer(feeding bytes: [UInt8], size: Int) throws -> (ServerProcess, PipeWriter) {
        let server = try ServerProcess(["read=\(pipe)", "size=\(size)"], in: directory)
        return (server, PipeWriter(path: pipe, bytes: bytes))
    }

    @Test func sequentialReadsReturnThePipeByteForByte() throws {
        let data = testPattern(count: 2 * 1024 * 1024 + 5)
        let (server, writer) = try startServer(feeding: data, size: data.count)
        let connection = try server.connect()
        #expect(try connection.isReadOnly())
        var received: [UInt8] = []
        for size in [1, 512, 4096, 65536, 1 << 20, 3] {
            received += try connection.pread(count: size, offset: UInt64(received.count))
        }
        received += try connection.pread(count: data.count - received.count, offset: UInt64(received.count))
        #expect(firstDifference(received, data) == nil)
        #expect(writer.finished())
        try connection.shutdown()
    }

    @Test func forwardGapIsReadAndDiscarded() throws {
        let data = testPattern(count: 10_000)
        let (server, writer) = try startServer(feeding: data, size: data.count)
        let connection = try server.connect()
        #expect(try firstDifference(connection.pread(count: 100, offset: 0), Array(data[0..<100])) == nil)
        #expect(try firstDifference(connection.pread(count: 100, offset: 5000), Array(data[5000..<5100])) == nil)
        #expect(try firstDifference(connection.pread(count: 4900, offset: 5100), Array(data[5100...])) == nil)
        #expect(writer.finished())
    }

    @Test func backwardReadFailsAndEntersTheErrorState() throws {
        let data = testPattern(count: 4096)
        let (server, _) = try startServer(feeding: data, size: data.count)
        let connection = try server.connect()
        _ = try connection.pread(count: 1024, offset: 0)
        let error = #expect(throws: NBDError.self) { _ = try connection.pread(count: 10, offset: 1000) }
        #expect(error?.errno == EIO)
        #expect(throws: NBDError.self) { _ = try connection.pread(count: 10, offset: 1024) }
        #expect(throws: NBDError.self) { _ = try server.connect() }
        #expect(server.log.contains("client tried to seek backwards and read"))
    }

    @Test func endOfFileBeforeTheRequestIsSatisfiedFails() throws {
        let data = testPattern(count: 1000)
        let (server, writer) = try startServer(feeding: data, size: 1 << 20)
        let connection = try server.connect()
        let error = #expect(throws: NBDError.self) { _ = try connection.pread(count: 4096, offset: 0) }
        #expect(error?.errno == EIO)
        #expect(writer.finished())
        #expect(server.log.contains("unexpected end of file reading from the pipe"))
        #expect(throws: NBDError.self) { _ = try connection.pread(count: 1, offset: 4096) }
    }

    @Test func writesAreRefusedWithEPERM() throws {
        let (server, _) = try startServer(feeding: [], size: 4096)
        let connection = try server.connect()
        try connection.setStrictMode([])
        let write = #expect(throws: NBDError.self) { try connection.pwrite([1], offset: 0) }
        #expect(write?.errno == EPERM)
        let zero = #expect(throws: NBDError.self) { try connection.zero(count: 1, offset: 0) }
        #expect(zero?.errno == EPERM)
    }
}
