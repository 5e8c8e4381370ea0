import Foundation
import NBDClient
import NBDProtocol
import TestSupport
import Testing

/// The fault matrix of docs/hardening.md: one test per cell, each checking
/// what the client sees, what the stream holds, and whether the server goes
/// on or exits. Two cells live elsewhere: a stale socket at -U PATH and two
/// servers on one PATH are LimitsTests.staleSocketIsReplacedButALiveServerIsNot;
/// a reader that never reads and then closes is
/// EndpointTests.readerGoingAwayFailsThePendingRequestPromptly.
@Suite struct FaultMatrixTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    /// The error state, seen from outside: requests of a live client fail and
    /// new clients are turned away, but the server still answers SIGTERM.
    private func expectErrorStateAndCleanStop(_ server: ServerProcess, _ connection: NBDConnection?, sourceLocation: SourceLocation = #_sourceLocation) {
        if let connection {
            let later = #expect(throws: NBDError.self, sourceLocation: sourceLocation) { try connection.flush() }
            #expect(later?.errno == EIO, sourceLocation: sourceLocation)
        }
        #expect(throws: NBDError.self, sourceLocation: sourceLocation) { _ = try server.connect() }
        #expect(server.log.contains("unrecoverable error state"), sourceLocation: sourceLocation)
        #expect(server.stop(seconds: 5) == 128 + SIGTERM, sourceLocation: sourceLocation)
    }

    // MARK: The pipe's peer fails

    @Test func pipeReaderDiesMidStream() throws {
        let pipe = try directory.makeFIFO("pipe")
        // Dies inside the second 1 MiB request, with bytes of it already read.
        let taken = (1 << 20) + 4321
        let reader = try LeavingPeer(fifo: pipe, leavesAfter: taken)
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let data = testPattern(count: 16 << 20)
        let connection = try server.connect()
        let writer = BackgroundWriter(connection, data: data, chunk: 1 << 20)
        let failure = try writer.finish()
        #expect(failure?.errno == EIO)
        // The reader got the stream's first bytes, unchanged; what sat in the
        // pipe unread went with it. Acknowledged means "in the pipe", so a
        // write or two may have been acknowledged beyond what was read.
        #expect(firstDifference(try reader.taken(), Array(data[..<taken])) == nil)
        #expect(writer.acknowledged < data.count)
        #expect(server.log.contains("the reader of \(pipe) went away"))
        expectErrorStateAndCleanStop(server, connection)
    }

    @Test func pipeWriterDiesEarlyInReadMode() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 1000)
        let source = try directory.write(data, to: "source")
        // A writer process that sends 1000 bytes, then hangs on to the pipe
        // without writing more, until it is killed. The shell opens the FIFO
        // itself: posix_spawn would wait in open() for a reader that only the
        // first request brings.
        let writer = try spawn("/bin/sh", ["-c", "exec > \(pipe); cat \(source); exec sleep 60"], output: directory.file("writer.log"))
        defer {
            kill(writer, SIGKILL)
            _ = reap(writer, blocking: true)
        }
        let server = try ServerProcess(["read=\(pipe)", "size=1M"], in: directory)
        let connection = try server.connect()
        #expect(try connection.pread(count: 1000, offset: 0) == data)
        // The next read waits for bytes the writer will never send...
        let pending = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: NBDError?
        nonisolated(unsafe) let unsafeConnection = connection
        Thread.detachNewThread {
            do { _ = try unsafeConnection.pread(count: 1000, offset: 1000) } catch let error as NBDError { failure = error } catch {}
            pending.signal()
        }
        #expect(pending.wait(timeout: .now() + 0.3) == .timedOut)
        // ...until it dies: end of file, never a short read passed off as data.
        kill(writer, SIGKILL)
        let died = Date()
        #expect(pending.wait(timeout: .now() + 10) == .success)
        #expect(Date().timeIntervalSince(died) < 1)
        #expect(failure?.errno == EIO)
        #expect(server.log.contains("unexpected end of file reading from the pipe"))
        expectErrorStateAndCleanStop(server, connection)
    }

    @Test func socketEndpointRefuses() throws {
        // A socket file nobody listens on: connect() is refused.
        let path = directory.file("endpoint.sock")
        close(try UnixSocket.listen(at: path))
        let server = try ServerProcess(["write=\(path)"], in: directory)
        let connection = try server.connect()
        // The handshake never touches the endpoint; the first write does.
        let failure = #expect(throws: NBDError.self) { try connection.pwrite([1, 2, 3], offset: 0) }
        #expect(failure?.errno == EIO)
        #expect(server.log.contains("cannot open \(path)"))
        expectErrorStateAndCleanStop(server, connection)
    }

    @Test func socketEndpointResets() throws {
        let path = directory.file("endpoint.sock")
        let taken = 300_000
        let peer = try LeavingPeer(socket: path, leavesAfter: taken)
        let server = try ServerProcess(["write=\(path)"], in: directory)
        let data = testPattern(count: 16 << 20)
        let connection = try server.connect()
        let writer = BackgroundWriter(connection, data: data, chunk: 1 << 20)
        #expect(try writer.finish()?.errno == EIO)
        #expect(firstDifference(try peer.taken(), Array(data[..<taken])) == nil)
        #expect(server.log.contains("the reader of \(path) went away"))
        expectErrorStateAndCleanStop(server, connection)
    }

    // MARK: The client fails

    /// Negotiates, has `first` written at offset 0, then sends a 1 MiB WRITE
    /// at 1000 of which only 300 KiB arrive before the client is gone.
    private func writeThenVanishMidPayload(_ server: ServerProcess, first: [UInt8]) throws -> [UInt8] {
        let arrived = testPattern(count: 300 << 10, seed: 2)
        let raw = try RawClient(socket: server.socket)
        try raw.negotiateGo()
        try raw.send(RequestHeader(command: .write, cookie: 1, offset: 0, length: UInt32(first.count)).encode() + first)
        #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: 1, error: .ok))
        try raw.send(RequestHeader(command: .write, cookie: 2, offset: UInt64(first.count), length: 1 << 20).encode() + arrived)
        return arrived
    }

    /// A FIFO endpoint takes the zero-copy path: the payload goes from the
    /// socket into the FIFO as it arrives, so what arrived is in the stream.
    /// The server cannot take it back; it says so (error state, log, exit
    /// status) instead of letting a later client continue after a torn request.
    @Test func clientDisconnectsMidPayloadIntoAFIFO() throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory)
        let first = testPattern(count: 1000, seed: 1)
        let arrived = try writeThenVanishMidPayload(server, first: first)
        try waitUntil("the server to enter the error state") { (try? server.connect()) == nil }
        expectErrorStateAndCleanStop(server, nil)
        #expect(server.log.contains("the stream is incomplete: the client went away after \(arrived.count) of \(1 << 20) payload bytes"))
        #expect(firstDifference(try fixture.reader.contents(), first + arrived) == nil)
    }

    /// A socket endpoint takes the copying path: the payload is read whole
    /// before the stream sees a byte, so a cut-off request leaves nothing and
    /// the next client continues at the same offset.
    @Test func clientDisconnectsMidPayloadIntoASocket() throws {
        let path = directory.file("endpoint.sock")
        let listener = try SocketListener(path: path)
        let server = try ServerProcess(["write=\(path)"], in: directory)
        let first = testPattern(count: 1000, seed: 1)
        _ = try writeThenVanishMidPayload(server, first: first)
        let second = testPattern(count: 1000, seed: 3)
        let connection = try server.connect()
        try connection.pwrite(second, offset: 1000)
        try connection.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try listener.acceptAndReadAll(), first + second) == nil)
        #expect(!server.log.contains("unrecoverable error state"))
    }

    /// Sends a READ of `length` at `offset` and leaves after the reply's
    /// header and its first 100 KiB, which must be the stream's bytes there.
    private func readThenVanishMidReply(_ server: ServerProcess, data: [UInt8], offset: Int, length: Int) throws {
        let raw = try RawClient(socket: server.socket)
        try raw.negotiateGo()
        try raw.send(RequestHeader(command: .read, cookie: 1, offset: UInt64(offset), length: UInt32(length)).encode())
        #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: 1, error: .ok))
        #expect(firstDifference(try raw.receive(100 << 10), Array(data[offset..<offset + (100 << 10)])) == nil)
    }

    /// A READ larger than the FIFO holds takes the copying path. The pipe's
    /// bytes of an undelivered reply are spent (a stream cannot give them
    /// twice); the server goes on and the next client continues after them.
    @Test func clientDisconnectsMidReply() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 8 << 20)
        let server = try ServerProcess(["read=\(pipe)", "size=\(data.count)"], in: directory)
        let feeder = PipeWriter(path: pipe, bytes: data)
        try readThenVanishMidReply(server, data: data, offset: 0, length: 4 << 20)
        let connection = try server.connect()
        #expect(firstDifference(try connection.pread(count: 4 << 20, offset: 4 << 20), Array(data[(4 << 20)...])) == nil)
        #expect(feeder.finished())
        #expect(server.exitStatus() == nil)
        #expect(!server.log.contains("unrecoverable error state"))
    }

    /// A READ the FIFO already holds whole takes the zero-copy path (splice
    /// from the FIFO to the client). The outcome must be the copying path's:
    /// the request's bytes are spent, and the next client gets the bytes that
    /// follow them, never the unsent rest of the abandoned reply.
    @Test func clientDisconnectsMidSplicedReply() throws {
        let pipe = try directory.makeFIFO("pipe")
        let data = testPattern(count: 900 << 10)
        let server = try ServerProcess(["read=\(pipe)", "size=\(data.count)"], in: directory)
        let feeder = PipeWriter(path: pipe, bytes: data)
        // One byte opens the FIFO (and enlarges it to 1 MiB); the rest of the
        // data then fits, and the feeder finishing means the FIFO holds it all.
        let opener = try server.connect()
        #expect(try opener.pread(count: 1, offset: 0) == [data[0]])
        #expect(feeder.finished())
        let length = 512 << 10
        try readThenVanishMidReply(server, data: data, offset: 1, length: length)
        let next = 1 + length
        let connection = try server.connect()
        let rest = try connection.pread(count: data.count - next, offset: UInt64(next))
        #expect(firstDifference(rest, Array(data[next...])) == nil, "the next read got other bytes than the stream's at \(next)")
        #expect(!server.log.contains("unrecoverable error state"))
    }

    @Test func clientSendsDiscWithRequestsInFlight() throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory)
        let first = testPattern(count: 5000, seed: 1), second = testPattern(count: 7000, seed: 2)
        let raw = try RawClient(socket: server.socket)
        try raw.negotiateGo()
        // All at once, DISC last, before reading a single reply.
        try raw.send(
            RequestHeader(command: .write, cookie: 1, offset: 0, length: 5000).encode() + first
                + RequestHeader(command: .write, cookie: 2, offset: 5000, length: 7000).encode() + second
                + RequestHeader(command: .flush, cookie: 3, offset: 0, length: 0).encode()
                + RequestHeader(command: .read, cookie: 4, offset: 12000, length: 10).encode()
                + RequestHeader(command: .disconnect, cookie: 5, offset: 0, length: 0).encode())
        // Every request before DISC is served and answered, in order; then the server hangs up.
        for cookie in 1...4 as ClosedRange<UInt64> {
            #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: cookie, error: .ok))
        }
        #expect(try raw.receive(10) == [UInt8](repeating: 0, count: 10))
        #expect(try raw.receiveUntilClosed(seconds: 10))
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try fixture.reader.contents(), first + second) == nil)
    }

    // MARK: The server is stopped or slowed

    @Test(arguments: [SIGTERM, SIGINT])
    func signalMidStream(signal: Int32) throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory)
        let data = testPattern(count: 64 << 20)
        let writer = BackgroundWriter(try server.connect(), data: data, chunk: 1 << 20)
        try waitUntil("4 MiB to be acknowledged") { writer.acknowledged >= 4 << 20 }
        #expect(server.stop(signal: signal, seconds: 5) == 128 + signal)
        // The write in progress fails: the producer learns the stream was cut.
        #expect(try writer.finish() != nil)
        // The reader sees end of file after a prefix of the stream that holds
        // every acknowledged byte; it may end inside the request in progress.
        let streamed = try fixture.reader.contents()
        #expect(streamed.count >= writer.acknowledged && streamed.count < data.count)
        #expect(firstDifference(streamed, Array(data[..<streamed.count])) == nil)
        #expect(!FileManager.default.fileExists(atPath: server.socket))
    }

    @Test func slowReaderBackpressure() throws {
        let pipe = try directory.makeFIFO("pipe")
        let rate = 2 << 20
        let reader = try ThrottledPipeReader(path: pipe, bytesPerSecond: rate)
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let baseline = try ProcessMemory(pid: server.pid)
        let data = testPattern(count: 6 << 20)
        let connection = try server.connect()
        let started = Date()
        for start in stride(from: 0, to: data.count, by: 256 << 10) {
            try connection.pwrite(Array(data[start..<start + (256 << 10)]), offset: UInt64(start))
        }
        // The writes waited for the reader (at 2 MiB/s, 6 MiB takes about 3 s)
        // instead of piling up in the server: it holds one request, no more.
        #expect(Date().timeIntervalSince(started) >= 2)
        #expect(try ProcessMemory(pid: server.pid).peakResidentKiB <= baseline.residentKiB + 40 * 1024)
        try connection.flush()
        try connection.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try reader.contents(), data) == nil)
    }

    // MARK: A regular file that cannot take more

    @Test func diskFullOnARegularFileEndpoint() throws {
        // /dev/full fails every write with ENOSPC: a full disk without a mount.
        let server = try ServerProcess(["write=/dev/full"], in: directory)
        let connection = try server.connect()
        let failure = #expect(throws: NBDError.self) { try connection.pwrite(testPattern(count: 4096), offset: 0) }
        #expect(failure?.errno == EIO)
        #expect(server.log.contains("write to /dev/full"))
        expectErrorStateAndCleanStop(server, connection)
    }

    @Test func fileSizeLimitOnARegularFileEndpoint() throws {
        // RLIMIT_FSIZE makes a file fill up part way, like a disk that runs
        // out mid-stream: writes up to the limit land, the one past it fails.
        let image = try directory.write([], to: "image")
        let server = try ServerProcess(["write=\(image)"], in: directory)
        let limit = 1 << 20
        let prlimit = try run("prlimit", ["--pid", "\(server.pid)", "--fsize=\(limit):\(limit)"])
        #expect(prlimit.status == 0, "\(prlimit.output)")
        let data = testPattern(count: 2 << 20)
        let connection = try server.connect()
        let writer = BackgroundWriter(connection, data: data, chunk: 256 << 10)
        // The client is told (EIO), the server is not killed by SIGXFSZ.
        #expect(try writer.finish()?.errno == EIO)
        #expect(server.exitStatus() == nil, "the server died: exit status \(server.exitStatus().map(String.init) ?? "-")")
        #expect(writer.acknowledged == limit)
        #expect(firstDifference(directory.contents(of: "image") ?? [], Array(data[..<limit])) == nil)
        expectErrorStateAndCleanStop(server, server.exitStatus() == nil ? connection : nil)
    }

    // MARK: Start-up

    /// Tests run as root, whose CAP_DAC_OVERRIDE ignores permissions, so the
    /// server runs under setpriv with that capability (and DAC_READ_SEARCH)
    /// dropped from its bounding set: still root, but permission checks apply.
    @Test(arguments: [0o000, 0o500] as [mode_t])
    func pathInADirectoryWithoutPermission(mode: mode_t) throws {
        let locked = directory.file("locked")
        #expect(mkdir(locked, mode) == 0)
        defer { chmod(locked, 0o700) }
        let path = locked + "/pipe"
        let result = try run("setpriv", ["--bounding-set", "-dac_override,-dac_read_search", "--",
                                         ServerProcess.binary, "-f", "-U", directory.file("server.sock"), "write=\(path)"], seconds: 10)
        // No search permission: PATH cannot be looked at; no write permission:
        // the missing FIFO cannot be made. Either way start-up fails at once,
        // with one line that names PATH and the reason.
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains(path) && result.output.contains("Permission denied"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("server.sock")))
    }
}
