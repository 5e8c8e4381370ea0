import Foundation
import NBDClient
import TestSupport
import Testing

/// The server out of descriptors, its descriptor limit lowered while it runs
/// (prlimit): accept and even poll fail. It must neither spin nor flood its
/// log, and must serve again as soon as a descriptor is free. CPU and log
/// rates over a long stretch are measured by bench/flood.py; here the
/// behaviour: one line per episode, a count of failures that a busy loop
/// would put in the hundreds of thousands, and service afterwards.
@Suite struct ExhaustionTests {
    let fixture: DrainedPipe
    let server: ServerProcess

    init() throws {
        fixture = try DrainedPipe()
        server = try ServerProcess(["write=\(fixture.path)"], in: fixture.directory)
    }

    /// Descriptors the server keeps from clients, for the stream's pipe (docs/limits.md).
    static let reserve = 4

    /// Lowers the soft limit of the running server's descriptors so that it
    /// can open exactly `count` more. The limit caps descriptor numbers, not
    /// their count (it is one more than the highest allowed), and the server
    /// inherited some with gaps between them, so the free numbers are counted.
    /// The PID file, which appears while it is still open, counts as free.
    private func leaveDescriptors(_ count: Int) throws {
        let directory = "/proc/\(server.pid)/fd"
        let taken = Set(try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)"))?.hasSuffix(".pid") != true
        }.compactMap { Int($0) })
        let free = Array((0...).lazy.filter { !taken.contains($0) }.prefix(count))
        try limitDescriptors(to: (free.last ?? -1) + 1)
    }

    /// Sets the soft limit of the running server's descriptors.
    private func limitDescriptors(to limit: Int) throws {
        let result = try run("prlimit", ["--pid", "\(server.pid)", "--nofile=\(limit):"])
        #expect(result.status == 0, "\(result.output)")
    }

    /// How long the exhausted server is watched before the test frees it:
    /// an observation window, not a wait for an event, since nothing may
    /// happen in it. A loop that spun would fail its accepts by the hundred
    /// thousand meanwhile; the episode's end line, read afterwards, counts
    /// what the server did in the window.
    static let observationWindow = 1.5

    private func watchWhileExhausted() {
        Thread.sleep(forTimeInterval: Self.observationWindow)
    }

    /// The episode's end line, once it is there, and the failures it counts.
    private func episodeEnd() throws -> (line: String, failures: Int) {
        try waitUntil("the episode to end") { server.log.contains("accept works again after") }
        let line = String(server.log.split(separator: "\n").first { $0.contains("accept works again after") }!)
        print("episode: \(line)")
        let count = line.firstMatch(of: /(\d+) failures? meanwhile/).flatMap { Int($0.1) }
        return (line, try #require(count, "no count in \(line)"))
    }

    private func startLines(in log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("accept: Too many open files") }.count
    }

    /// A libnbd client writes 1 MiB; the pipe, opened by that first write
    /// from the descriptors kept for it, must then hold exactly those bytes.
    private func streamThroughTheReserve() throws {
        let uri = server.uri
        let data = testPattern(count: 1 << 20)
        try withinBound("a client's handshake and first write with no descriptor left but the reserve") {
            let connection = try NBDConnection()
            try connection.connect(.uri(uri))
            try connection.pwrite(data, offset: 0)
            try connection.flush()
            try connection.shutdown()
        }
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try fixture.reader.contents(), data) == nil)
    }

    @Test func outOfDescriptorsItWaitsWithoutSpinningAndServesOnceOneIsFreed() throws {
        // Every descriptor left goes to a client in transmission, which nothing displaces.
        try leaveDescriptors(3 + Self.reserve)
        var holders = try (0..<3).map { _ in try RawClient(socket: server.socket) }
        for holder in holders { try holder.negotiateGo() }
        let waiting = try RawClient(socket: server.socket)
        try waitUntil("accept to fail") { server.log.contains("accept: Too many open files") }
        watchWhileExhausted()
        _ = holders.removeFirst()  // leaves, and frees its descriptor
        try waiting.negotiateGo()  // within RawClient's 10 s receive timeout
        let end = try episodeEnd()
        #expect(end.failures <= 40, "\(end.line)")
        #expect(startLines(in: server.log) == 1)
        #expect(!server.log.contains("ended the handshake"))
        _ = holders.removeFirst()
        try streamThroughTheReserve()
    }

    @Test func outOfDescriptorsTheOldestSilentHandshakeMakesRoom() throws {
        try leaveDescriptors(2 + Self.reserve)
        let silent = try (0..<2).map { _ in try RawClient(socket: server.socket) }
        for client in silent { _ = try client.receive(18) }  // accepted: each holds a descriptor
        try streamThroughTheReserve()
        #expect(try silent[0].receiveUntilClosed(seconds: 10))
        #expect(server.log.contains("out of descriptors: ended the handshake of client"))
    }

    @Test func aFailingPollBacksOffAndTheServerServesOnceItWorks() throws {
        let limits = try String(contentsOfFile: "/proc/\(server.pid)/limits", encoding: .utf8)
        let soft = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?
            .split(whereSeparator: \.isWhitespace).dropFirst(3).first.flatMap { Int($0) })
        // One descriptor: accept fails, and so does every poll of two
        // descriptors or more (EINVAL: more than RLIMIT_NOFILE).
        try limitDescriptors(to: 1)
        let waiting = try RawClient(socket: server.socket)
        try waitUntil("accept to fail") { server.log.contains("accept: Too many open files") }
        watchWhileExhausted()
        try limitDescriptors(to: soft)
        try waiting.negotiateGo()
        let end = try episodeEnd()
        #expect(end.line.contains("(the last: poll: Invalid argument)"), "\(end.line)")
        #expect(end.failures <= 40, "\(end.line)")
        #expect(startLines(in: server.log) == 1)
    }
}
