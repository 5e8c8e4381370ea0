import Foundation
import NBDClient
import TestSupport
import Testing

/// Both data paths, byte for byte: splice(2) between the client's socket and a
/// FIFO, and the copying fallback for endpoints splice cannot serve.
@Suite struct ZeroCopyTests {
    let directory: TestDirectory
    init() throws { directory = try TestDirectory() }

    func splicedRequests(_ log: String) -> Int {
        log.split(separator: "\n").filter { $0.hasSuffix("ok (spliced)") }.count
    }

    @Test func fifoWritesAreSplicedAndExact() throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["-v", "write=\(fixture.path)"], in: fixture.directory)
        let data = testPattern(count: 5 << 20)
        let connection = try server.connect()
        try connection.pwrite(Array(data[..<(4 << 20)]), offset: 0)
        try connection.pwrite(Array(data[(4 << 20)...]), offset: 4 << 20, flags: [.fua])
        try connection.shutdown()
        server.stop()
        #expect(try firstDifference(fixture.reader.contents(), data) == nil)
        #expect(splicedRequests(server.log) == 2)
    }

    @Test func regularFileWritesTakeTheCopyingPath() throws {
        let file = try directory.write([], to: "image")
        let server = try ServerProcess(["-v", "write=\(file)"], in: directory)
        let data = testPattern(count: 1 << 20)
        let connection = try server.connect()
        try connection.pwrite(data, offset: 0)
        try connection.shutdown()
        server.stop()
        #expect(firstDifference(directory.contents(of: "image") ?? [], data) == nil)
        #expect(splicedRequests(server.log) == 0)
        #expect(server.log.contains("write cookie="))
    }

    @Test func fifoReadsAreSplicedOnceThePipeHoldsTheData() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 256 << 10)
        let server = try ServerProcess(["-v", "read=\(pipe)", "size=\(data.count)"], in: directory)
        let writer = PipeWriter(path: pipe, bytes: data)
        let connection = try server.connect()
        var received = try connection.pread(count: 1, offset: 0)
        // The whole stream now sits in the pipe's 1 MiB buffer.
        #expect(writer.finished())
        received += try connection.pread(count: data.count - 1, offset: 1)
        #expect(firstDifference(received, data) == nil)
        #expect(splicedRequests(server.log) >= 1)
    }

    /// A read larger than the pipe can ever hold goes out as data chunks of
    /// what the pipe holds, still spliced, as the writer fills it.
    @Test func readsLargerThanThePipeGoOutInSplicedChunks() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 8 << 20)
        let server = try ServerProcess(["-v", "read=\(pipe)", "size=\(data.count)"], in: directory)
        let writer = PipeWriter(path: pipe, bytes: data)
        let connection = try server.connect()
        let received = try connection.pread(count: data.count, offset: 0)
        #expect(firstDifference(received, data) == nil)
        #expect(writer.finished())
        #expect(splicedRequests(server.log) == 1)
    }

    /// The pipe ending part way through such a read: the chunks already sent
    /// are followed by an error chunk, and the client sees EIO.
    @Test func largeReadCutShortEndsWithAnErrorChunk() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 3 << 20)
        let server = try ServerProcess(["read=\(pipe)", "size=\(8 << 20)"], in: directory)
        let writer = PipeWriter(path: pipe, bytes: data)
        let connection = try server.connect()
        let error = #expect(throws: NBDError.self) { _ = try connection.pread(count: 8 << 20, offset: 0) }
        #expect(error?.errno == EIO)
        #expect(writer.finished())
        #expect(server.log.contains("unexpected end of file"))
    }
}
