import Foundation
import NBDClient
import NBDProtocol
import Synchronization
import TestSupport
import Testing
import TLS

/// Clients that connect and say nothing (or only their flags), as many and as
/// often as an attacker likes, and a stream's real clients among them:
/// handshake slots make room by ending the handshake idle longest, and clients
/// in transmission are never displaced (docs/limits.md). The full-size figures
/// (3,000 clients, timings, RSS) come from bench/flood.py; here the behaviour,
/// with bounded waits.
@Suite struct FloodTests {
    /// The flags-then-idle flood displaced every new client in its first
    /// round trip (it was the only silent handshake) until a client that has
    /// said nothing yet ranked by its connection.
    @Test(arguments: [false, true], [IdleFlood.Kind.silent, .flagsThenIdle])
    func aLegitimateClientIsServedThroughAnIdleFlood(tcp: Bool, kind: IdleFlood.Kind) throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory, tcp: tcp)
        defer { server.stop() }
        let data = testPattern(count: 2 << 20)
        let half = 1 << 20
        // In transmission before the flood comes: nothing may displace it.
        let early = try server.connect()
        let flood = IdleFlood(ServerAddress(server), clients: 400, kind: kind)
        defer { try? flood.stop() }
        // 400 clients for the 256 handshake slots: once the server has closed
        // 400 of them, every slot has been taken and room made again and again.
        try waitUntil("the flood to take every handshake slot and be displaced", seconds: 60) { flood.connectionsClosedByServer >= 400 }
        try early.pwrite(Array(data[..<half]), offset: 0)
        let uri = server.uri, second = Array(data[half...])
        try withinBound("a new client's handshake and 1 MiB write through the flood") {
            let late = try NBDConnection()
            try late.connect(.uri(uri))
            try late.pwrite(second, offset: UInt64(half))
            try late.flush()
            try late.shutdown()
        }
        try flood.stop()
        let displaced = flood.connectionsClosedByServer
        try early.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try fixture.reader.contents(), data) == nil)
        // Each displacement is worth a warning, but the log takes a few, not one per client.
        let warnings = server.log.split(separator: "\n").filter { $0.contains("to make room") }.count
        #expect(warnings >= 1 && warnings <= 10, "\(warnings) log lines for \(displaced) displaced clients")
    }

    @Test func theOldestSilentHandshakeMakesRoomForANewClient() throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["--max-handshakes", "2", "write=\(fixture.path)"], in: fixture.directory)
        defer { server.stop() }
        let silent = try (0..<2).map { _ in try RawClient(socket: server.socket) }
        for client in silent { _ = try client.receive(18) }  // the greeting; then nothing
        let uri = server.uri
        let size = try withinBound("a third client's handshake") {
            let connection = try NBDConnection()
            try connection.connect(.uri(uri))
            return try connection.exportSize()
        }
        #expect(size > 0)
        #expect(try silent[0].receiveUntilClosed(seconds: 10))
        #expect(server.log.contains("all 2 handshake slots are taken (--max-handshakes): ended the handshake of client"))
    }

    /// A new client has said nothing until its flags arrive, a round trip
    /// after the greeting; a client that spoke before it came and then idled
    /// makes room first, and the new one goes on to write.
    @Test func aClientInItsFirstRoundTripOutlastsOneThatSpokeAndIdled() throws {
        let fixture = try DrainedPipe()
        let server = try ServerProcess(["--max-handshakes", "2", "write=\(fixture.path)"], in: fixture.directory)
        defer { server.stop() }
        let idler = try RawClient(socket: server.socket)
        try idler.greet()
        _ = try idler.option(.list)  // answered: the server has heard it
        let newcomer = try RawClient(socket: server.socket)
        try newcomer.receiveGreeting()  // its flags not sent yet
        let next = try RawClient(socket: server.socket)
        try next.receiveGreeting()  // admitted: room was made
        #expect(try idler.receiveUntilClosed(seconds: 10))
        let data = testPattern(count: 4096)
        try newcomer.sendFlags()
        try newcomer.go()
        #expect(try newcomer.write(data, at: 0) == .simple(cookie: 1, error: .ok))
        try newcomer.disconnect()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try fixture.reader.contents(), data) == nil)
    }

    /// The TLS handshake's messages count as heard: a client in the middle of
    /// it is not taken for one idle since its STARTTLS.
    @Test func aClientInItsTLSHandshakeIsHeard() throws {
        let keys = try TLSKeys()
        let pipe = try keys.directory.makeFIFO("pipe")
        let reader = try PipeReader(path: pipe)
        let server = try ServerProcess(["--max-handshakes", "2", "--tls=on", "--tls-psk=\(keys.pskFile)", "write=\(pipe)"], in: keys.directory)
        defer { server.stop() }
        let upgrading = try RawClient(socket: server.socket)
        try upgrading.greet()
        #expect(try upgrading.requestStartTLS().type == .ack)
        // Heard after the STARTTLS, before the TLS handshake.
        let other = try RawClient(socket: server.socket)
        try other.greet()
        _ = try other.option(.list)
        try upgrading.handshakeTLS(.preSharedKey(file: keys.pskFile, username: keys.username))
        let next = try RawClient(socket: server.socket)
        try next.receiveGreeting()  // admitted: room was made
        #expect(try other.receiveUntilClosed(seconds: 10))
        let data = testPattern(count: 4096)
        try upgrading.go()
        #expect(try upgrading.write(data, at: 0) == .simple(cookie: 1, error: .ok))
        try upgrading.disconnect()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try reader.contents(), data) == nil)
    }

    /// Both floods at once, idle clients and hostile sessions, while a
    /// legitimate client streams 16 MiB: it is served, and its bytes, and
    /// only they, go through the pipe.
    @Test(arguments: [
        HostileClientTests.Setup(mode: .write, tcp: false, window: nil, sessions: 500),
        HostileClientTests.Setup(mode: .read, tcp: true, window: nil, sessions: 500),
    ])
    func aLegitimateStreamGoesThroughIdleAndHostileFloodsByteForByte(_ setup: HostileClientTests.Setup) throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        let replay = "replay with HOSTILE_SEED=\(seed)"
        let stream = try GoodStream(setup, seed: seed, bytes: 16 << 20)
        let server = try ServerProcess(["--handshake-timeout", "2"] + stream.parameters, in: stream.directory, tcp: setup.tcp)
        defer { server.stop() }
        let address = ServerAddress(server)
        let flood = IdleFlood(address, clients: 300)
        defer { try? flood.stop() }
        let hostile = Mutex<(figures: HostileRun.Figures?, ended: Date?)>((nil, nil))
        let hostileDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Every READ forbidden: beside a live stream one below the highwater would be an error the contract calls for.
            let figures = try? HostileRun.play(setup.sessions, seed: seed, forbidsReads: true, at: address, workers: 4, seconds: 120)
            hostile.withLock { $0 = (figures, Date()) }
            hostileDone.signal()
        }
        try waitUntil("the idle flood to take every handshake slot", seconds: 60) { flood.connectionsClosedByServer >= 300 }
        let uri = server.uri
        nonisolated(unsafe) let good = stream
        try withinBound("the legitimate stream through the floods", seconds: 120) {
            let connection = try NBDConnection()
            try connection.connect(.uri(uri))
            try good.serve(through: connection)
        }
        let streamed = Date()
        #expect(hostileDone.wait(timeout: .now() + 150) == .success, "the hostile sessions did not end")
        try flood.stop()
        let (figures, ended) = hostile.withLock { $0 }
        #expect(figures?.played == setup.sessions, "\(replay)")
        // The floods went on all along: the hostile sessions ended after the stream.
        #expect((ended ?? .distantPast) > streamed, "the hostile sessions were over before the stream went through; \(replay)")
        #expect(server.stop() == 128 + SIGTERM)
        try stream.verify(replay)
        #expect(!server.log.contains("unrecoverable error state"), "\(replay)")
    }
}
