import Foundation
import NBDClient
import TestSupport
import Testing

/// The bounds a real server keeps against clients that misbehave, and its
/// listening socket's hygiene.
@Suite struct LimitsTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    @Test func silentClientIsDroppedAfterTheHandshakeTimeout() throws {
        let server = try ServerProcess(["--handshake-timeout", "1", "write=\(directory.file("pipe"))"], in: directory)
        let silent = try RawClient(socket: server.socket)
        let connected = Date()
        _ = try silent.receive(18)  // the greeting; then say nothing
        #expect(try silent.receiveUntilClosed(seconds: 10))
        #expect(Date().timeIntervalSince(connected) >= 0.9)
        #expect(server.log.contains("no complete handshake within 1 s"))
        // A client that completes its handshake may then be silent for longer.
        let connection = try server.connect()
        let idle = DispatchSemaphore(value: 0)
        #expect(idle.wait(timeout: .now() + 1.5) == .timedOut)
        #expect(try connection.pread(count: 1, offset: 0) == [0])
    }

    @Test func connectionsBeyondTheLimitAreRefused() throws {
        let server = try ServerProcess(["--max-connections", "1", "write=\(directory.file("pipe"))"], in: directory)
        let first = try server.connect()
        let second = try RawClient(socket: server.socket)
        #expect(try second.receiveUntilClosed(seconds: 10))
        #expect(server.log.contains("1 connections are already open"))
        #expect(try first.pread(count: 1, offset: 0) == [0])
        try first.shutdown()
        // The slot is free again once the first client has gone.
        try waitUntil("the slot to be released") { (try? server.connect()) != nil }
    }

    @Test func socketIsOwnerOnlyUnlessAskedOtherwise() throws {
        let server = try ServerProcess(["write=\(directory.file("pipe"))"], in: directory)
        var info = stat()
        #expect(stat(server.socket, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let shared = try ServerProcess(["--unix-mode", "660", "write=\(directory.file("pipe2"))"], in: directory, name: "shared")
        #expect(stat(shared.socket, &info) == 0 && info.st_mode & 0o777 == 0o660)
    }

    @Test func staleSocketIsReplacedButALiveServerIsNot() throws {
        // A socket file nobody listens on, as a killed server leaves behind.
        let stale = directory.file("server.sock")
        _ = try SocketListener(path: stale)  // closed at once; its file stays
        #expect(FileManager.default.fileExists(atPath: stale))
        let server = try ServerProcess(["write=\(directory.file("pipe"))"], in: directory)
        #expect(try server.connect().exportSize() > 0)

        let second = try run(ServerProcess.binary, ["-f", "-U", server.socket, "write=\(directory.file("other"))"])
        #expect(second.status == 1)
        #expect(second.output.contains("another server is listening on it"))
        #expect(try server.connect().exportSize() > 0)
    }
}
