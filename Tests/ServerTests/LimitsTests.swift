import Foundation
import NBDClient
import NBDProtocol
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

    /// The deadline counts from the connection: a byte now and then does not
    /// move it, so a client that trickles its handshake cannot hold a slot.
    @Test func tricklingClientIsDroppedAtTheDeadlineOfItsConnection() throws {
        let server = try ServerProcess(["--handshake-timeout", "1", "write=\(directory.file("pipe"))"], in: directory)
        let trickler = try RawClient(socket: server.socket)
        _ = try trickler.receive(18)
        // A valid handshake, 100 bytes, one every 100 ms: it would take 10 s.
        var flags = ByteWriter()
        flags.write(ClientFlags([.fixedNewstyle, .noZeroes]).rawValue)
        let bytes = flags.bytes + Array(repeating: OptionHeader(code: .list, length: 0).encode(), count: 6).joined()
        var sent = 0
        for byte in bytes {
            guard (try? trickler.send([byte])) != nil else { break }
            sent += 1
            usleep(100_000)  // the trickle itself, not a wait for an event
        }
        #expect(sent < bytes.count, "the server let a trickling client go on for \(sent) bytes")
        #expect(server.log.contains("no complete handshake within 1 s"))
    }

    /// NBD_REP_ERR_POLICY: "server-side policy forbids the server to allow the option".
    @Test func goBeyondTheTransmissionLimitIsRefusedAndHandshakesGoOn() throws {
        let server = try ServerProcess(["--max-connections", "1", "write=\(directory.file("pipe"))"], in: directory)
        let first = try server.connect()
        let second = try RawClient(socket: server.socket)
        try second.greet()
        // Negotiating still works: a LIST is answered...
        try second.send(OptionHeader(code: .list, length: 0).encode())
        #expect(try second.receiveOptionReply().type == .server)
        #expect(try second.receiveOptionReply().type == .ack)
        // ...but a GO, which would take a second transmission slot, is refused.
        let payload = InfoRequest(exportName: "", requests: []).encode()
        try second.send(OptionHeader(code: .go, length: UInt32(payload.count)).encode() + payload)
        let refusal = try second.receiveOptionReply()
        #expect(refusal.type == .errPolicy)
        #expect(String(decoding: refusal.payload, as: UTF8.self).contains("--max-connections 1"))
        #expect(throws: NBDError.self) { try server.connect() }
        #expect(server.log.contains("1 clients are already in transmission"))
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
