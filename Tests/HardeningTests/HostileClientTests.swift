import Foundation
import NBDClient
import Synchronization
import TestSupport
import Testing

/// Many hostile sessions against one real server, then a well-behaved client
/// on that same server. The sessions cannot write into the stream (see
/// HostileSession), so the strongest verdict is available: the stream must
/// hold exactly the good client's bytes, not merely "the server still runs".
/// A fresh second server for the good client would miss any state the hostile
/// sessions left behind (a stuck lock, a moved highwater, an error state).
@Suite struct HostileClientTests {
    static let sessions = 2000
    static let seconds = 20.0
    static let workers = 4
    static let exportSize: UInt64 = 64 << 20

    @Test func hostileSessionsLeaveTheServerUpBoundedAndTheStreamUntouched() throws {
        let seed = ProcessInfo.processInfo.environment["HOSTILE_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        let replay = "replay with HOSTILE_SEED=\(seed)"
        let fixture = try DrainedPipe()
        // A short handshake timeout: sessions that lie about a length leave the
        // server waiting for bytes; they must not pile up for a minute each.
        let server = try ServerProcess(["--handshake-timeout", "2", "write=\(fixture.path)", "size=\(Self.exportSize)"], in: fixture.directory)
        defer { server.stop() }
        let baseline = try ProcessMemory(pid: server.pid)

        let figures = try runSessions(seed: seed, socket: server.socket)
        print("hostile sessions: \(figures.played) played (\(figures.refused) refused at connect, \(figures.closedByServer) closed by the server), \(figures.sent) bytes sent, \(figures.received) received, seed \(seed)")

        #expect(server.exitStatus() == nil, "the server died: \(server.log.suffix(2000)); \(replay)")
        #expect(figures.refused == 0, "connections were refused from session \(figures.firstRefused); \(replay)")
        #expect(figures.played >= 200, "too few sessions to mean anything: \(figures.played)")

        // Memory: length fields must not drive allocation. The server's only
        // large allocation is one 32 MiB request buffer per connection in
        // transmission (docs/limits.md), touched only as far as a request
        // reaches. At most `workers` sessions are open at a time, plus one or
        // two whose threads are still ending, so the peak is bounded by the
        // baseline, (workers + 2) x 32 MiB and 16 MiB of slack for threads and
        // option buffers. A 4 GiB option or request length trusted even once,
        // or one leaked buffer per session, would go far past it.
        let peakBound = baseline.residentKiB + (Self.workers + 2) * 32 * 1024 + 16 * 1024
        let afterwards = try ProcessMemory(pid: server.pid)
        print("server memory: baseline \(baseline.residentKiB) KiB, peak \(afterwards.peakResidentKiB) KiB (bound \(peakBound) KiB)")
        #expect(afterwards.peakResidentKiB <= peakBound, "\(replay)")
        // Once the sessions are gone their buffers must be returned, not leaked.
        try waitUntil("the server's memory to return near its baseline", seconds: 10) {
            try ProcessMemory(pid: server.pid).residentKiB <= baseline.residentKiB + 16 * 1024
        }

        // The well-behaved client on the same server gets correct service.
        let data = testPattern(count: 3 << 20, seed: seed)
        let connection = try server.connect()
        for start in stride(from: 0, to: data.count, by: 1 << 20) {
            try connection.pwrite(Array(data[start..<start + (1 << 20)]), offset: UInt64(start))
        }
        #expect(try connection.pread(count: 4096, offset: UInt64(data.count)) == [UInt8](repeating: 0, count: 4096))
        try connection.flush()
        try connection.shutdown()
        #expect(server.stop() == 128 + SIGTERM)
        #expect(firstDifference(try fixture.reader.contents(), data) == nil, "the stream holds more or other than the good client's bytes; \(replay)")
        #expect(!server.log.contains("unrecoverable error state"), "\(replay)")
    }

    struct Figures {
        var played = 0, refused = 0, closedByServer = 0, sent = 0, received = 0
        var firstRefused: Int?
    }

    /// Sessions on `workers` threads until the count or the time runs out.
    /// Session i is built from (seed, i) alone, so its bytes replay exactly.
    private func runSessions(seed: UInt64, socket: String) throws -> Figures {
        let next = Atomic<Int>(0)
        let figures = Mutex(Figures())
        let failure = Mutex<String?>(nil)
        let deadline = Date().addingTimeInterval(Self.seconds)
        DispatchQueue.concurrentPerform(iterations: Self.workers) { _ in
            while Date() < deadline {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < Self.sessions else { return }
                let session: HostileSession
                do { session = try HostileSession(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15), exportSize: Self.exportSize) } catch {
                    failure.withLock { $0 = "session \(index): \(error)" }
                    return
                }
                let outcome = SessionPlayer.play(session, socket: socket)
                figures.withLock {
                    $0.played += 1
                    $0.sent += outcome.sent
                    $0.received += outcome.received
                    if outcome.closedByServer { $0.closedByServer += 1 }
                    if !outcome.connected {
                        $0.refused += 1
                        $0.firstRefused = min($0.firstRefused ?? index, index)
                    }
                }
            }
        }
        if let message = failure.withLock({ $0 }) { throw TestFailure(message) }
        return figures.withLock { $0 }
    }
}
