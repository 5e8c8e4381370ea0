import Foundation
import NBDClient
import TestSupport
import Testing

/// The local end of the stream: FIFOs with and without a peer, sockets,
/// regular files, and the peer going away.
@Suite struct EndpointTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    @Test func missingPathBecomesAFIFOAndTheHandshakeDoesNotWaitForAReader() throws {
        let pipe = directory.file("created")
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        var info = stat()
        #expect(stat(pipe, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        // No reader: the handshake and a read (which never needs the pipe) still work.
        let connection = try server.connect()
        #expect(try connection.pread(count: 4, offset: 0) == [0, 0, 0, 0])
        // A write waits for the reader, and goes through once one arrives.
        let writeDone = DispatchSemaphore(value: 0)
        let payload = testPattern(count: 1000)
        nonisolated(unsafe) let unsafeConnection = connection
        Thread.detachNewThread {
            try? unsafeConnection.pwrite(payload, offset: 0)
            writeDone.signal()
        }
        try waitUntil("the server to report it waits for a reader") { server.log.contains("waiting for a reader to open \(pipe)") }
        #expect(writeDone.wait(timeout: .now() + 0.2) == .timedOut)
        // While that request waits, another client still completes its handshake.
        let other = try server.connect()
        #expect(try other.exportSize() > 0)
        let reader = try PipeReader(path: pipe)
        #expect(writeDone.wait(timeout: .now() + 10) == .success)
        try connection.shutdown()
        server.stop()
        #expect(try firstDifference(reader.contents(), payload) == nil)
    }

    @Test func readerGoingAwayFailsThePendingRequestPromptly() throws {
        let pipe = try directory.makeFIFO("pipe")
        let reader = try IdlePipeReader(path: pipe)
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let connection = try server.connect()
        // A reader that never reads: the write blocks once the pipe's buffer is full.
        let failure = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var error: NBDError?
        nonisolated(unsafe) let unsafeConnection = connection
        Thread.detachNewThread {
            do { try unsafeConnection.pwrite([UInt8](repeating: 1, count: 32 << 20), offset: 0) } catch let caught as NBDError { error = caught } catch {}
            failure.signal()
        }
        try waitUntil("the pipe to fill") { reader.queuedBytes >= 65536 }
        #expect(failure.wait(timeout: .now() + 0.1) == .timedOut)
        reader.close()
        let closed = Date()
        #expect(failure.wait(timeout: .now() + 10) == .success)
        #expect(Date().timeIntervalSince(closed) < 1)
        #expect(error?.errno == EIO)
        #expect(server.log.contains("the reader of \(pipe) went away"))
        // The server stays in the error state and is still killable.
        #expect(throws: NBDError.self) { _ = try server.connect() }
        #expect(server.stop(seconds: 5) == 128 + SIGTERM)
    }

    @Test func sigtermGivesTheReaderEndOfFileAndRemovesTheSocket() throws {
        let pipe = try directory.makeFIFO("pipe")
        let reader = try PipeReader(path: pipe)
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let connection = try server.connect()
        try connection.pwrite([1, 2, 3], offset: 0)
        #expect(server.stop(signal: SIGINT) == 128 + SIGINT)
        #expect(try reader.contents() == [1, 2, 3])
        #expect(!FileManager.default.fileExists(atPath: server.socket))
    }

    @Test func unixSocketEndpointCarriesTheStreamInWriteMode() throws {
        let path = directory.file("endpoint.sock")
        let listener = try SocketListener(path: path)
        let server = try ServerProcess(["write=\(path)"], in: directory)
        let payload = testPattern(count: 100_000)
        let connection = try server.connect()
        try connection.pwrite(payload, offset: 0)
        try connection.shutdown()
        server.stop()
        #expect(try firstDifference(listener.acceptAndReadAll(), payload) == nil)
    }

    @Test func unixSocketEndpointFeedsReadsInReadMode() throws {
        let path = directory.file("endpoint.sock")
        let payload = testPattern(count: 100_000)
        let listener = try SocketListener(path: path)
        listener.acceptAndSend(payload)
        let server = try ServerProcess(["read=\(path)", "size=\(payload.count)"], in: directory)
        let connection = try server.connect()
        #expect(try firstDifference(connection.pread(count: payload.count, offset: 0), payload) == nil)
    }

    @Test func regularFileIsWrittenFromItsStart() throws {
        let file = try directory.write([UInt8](repeating: 0xee, count: 10), to: "image")
        let server = try ServerProcess(["write=\(file)"], in: directory)
        let connection = try server.connect()
        try connection.pwrite([1, 2, 3], offset: 0)
        try connection.flush()
        try connection.shutdown()
        server.stop()
        // As nbdkit does: overwritten from the start, not truncated.
        #expect(directory.contents(of: "image") == [1, 2, 3] + [UInt8](repeating: 0xee, count: 7))
    }

    @Test func regularFileFeedsReadsFromItsStart() throws {
        let payload = testPattern(count: 5000)
        let file = try directory.write(payload, to: "image")
        let server = try ServerProcess(["read=\(file)", "size=5000"], in: directory)
        let connection = try server.connect()
        #expect(try firstDifference(connection.pread(count: 5000, offset: 0), payload) == nil)
    }
}

/// Read mode with no writer yet: the first read waits for one instead of
/// mistaking the empty FIFO for end of file.
@Suite struct ReadWithoutWriterTests {
    @Test func firstReadWaitsForTheWriter() throws {
        let directory = try TestDirectory()
        let pipe = try directory.makeFIFO("pipe")
        let server = try ServerProcess(["read=\(pipe)", "size=4"], in: directory)
        let connection = try server.connect()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var received: [UInt8]?
        nonisolated(unsafe) let unsafeConnection = connection
        Thread.detachNewThread {
            received = try? unsafeConnection.pread(count: 4, offset: 0)
            done.signal()
        }
        try waitUntil("the server to report it waits for a writer") { server.log.contains("waiting for a writer to open \(pipe)") }
        #expect(done.wait(timeout: .now() + 0.2) == .timedOut)
        let writer = PipeWriter(path: pipe, bytes: [9, 8, 7, 6])
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(received == [9, 8, 7, 6])
        #expect(writer.finished())
    }
}
