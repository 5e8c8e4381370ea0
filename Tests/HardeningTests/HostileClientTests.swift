import Foundation
import NBDClient
import Synchronization
import TestSupport
import Testing

/// Many hostile sessions against one real server, then a well-behaved client
/// on that same server, in each way a stream is served: write and read mode,
/// a Unix socket and TCP, with and without a window. The sessions cannot
/// move the stream (see HostileSession), so the strongest verdict is
/// available: the stream must hold exactly the good client's bytes, not
/// merely "the server still runs". A fresh second server for the good client
/// would miss any state the hostile sessions left behind (a stuck lock, a
/// moved highwater, an error state, a window holding bytes).
@Suite(.serialized) struct HostileClientTests {
    static let workers = 4
    static let exportSize: UInt64 = 64 << 20
    static let goodBytes = 3 << 20

    struct Setup: Sendable, CustomTestStringConvertible {
        enum Mode: Sendable { case write, read }
        let mode: Mode
        let tcp: Bool
        /// A window: `reorder=` in write mode, `retain=` in read mode.
        let window: String?
        let sessions: Int

        var testDescription: String {
            "\(mode) mode over \(tcp ? "TCP" : "a Unix socket")\(window.map { ", \($0)" } ?? ""), \(sessions) sessions"
        }
    }

    static let setups = [
        Setup(mode: .write, tcp: false, window: nil, sessions: 2000),
        Setup(mode: .write, tcp: true, window: nil, sessions: 3000),
        Setup(mode: .read, tcp: false, window: nil, sessions: 3000),
        Setup(mode: .write, tcp: false, window: "reorder=8M", sessions: 1000),
        Setup(mode: .read, tcp: true, window: "retain=8M", sessions: 1000),
    ]

    @Test(arguments: setups)
    func hostileSessionsLeaveTheServerUpBoundedAndTheStreamUntouched(_ setup: Setup) throws {
        let seed = ProcessInfo.processInfo.environment["HOSTILE_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        let replay = "replay with HOSTILE_SEED=\(seed)"
        let stream = try GoodStream(setup, seed: seed)
        // A short handshake timeout: sessions that lie about a length leave the
        // server waiting for bytes; they must not pile up for a minute each.
        let server = try ServerProcess(["--handshake-timeout", "2"] + stream.parameters, in: stream.directory, tcp: setup.tcp)
        defer { server.stop() }
        let baseline = try ProcessMemory(pid: server.pid)

        let started = Date()
        let figures = try HostileRun.play(setup.sessions, seed: seed, forbidsReads: setup.mode == .read, at: ServerAddress(server),
                                          workers: Self.workers, seconds: 120)
        let seconds = Date().timeIntervalSince(started)
        print("hostile sessions, \(setup.testDescription): \(figures.played) played in \(String(format: "%.1f", seconds)) s "
            + "(\(figures.refused) refused at connect, \(figures.closedByServer) closed by the server), "
            + "\(figures.sent) bytes sent, \(figures.received) received, seed \(seed)")

        #expect(server.exitStatus() == nil, "the server died: \(server.log.suffix(2000)); \(replay)")
        #expect(figures.refused == 0, "connections were refused from session \(figures.firstRefused ?? -1); \(replay)")
        #expect(figures.played == setup.sessions, "only \(figures.played) sessions were played within the bound; \(replay)")

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

        // The log says what went wrong, but a site of the code that fires for
        // every session writes a few lines and counts the rest: thousands of
        // sessions, a few hundred lines at most (the burst of each site that
        // fired, then one line per site every 10 s).
        let lines = server.log.split(separator: "\n").count
        print("server log: \(lines) lines")
        #expect(lines <= 300 + Int(seconds) * 10, "the hostile sessions flooded the log: \(lines) lines; \(replay)")

        // The well-behaved client on the same server gets correct service.
        try stream.serve(through: server.connect())
        #expect(server.stop() == 128 + SIGTERM)
        try stream.verify(replay)
        #expect(!server.log.contains("unrecoverable error state"), "\(replay)")
    }
}

/// The good client's stream, and its pipe, in either mode: what it writes
/// must come out of the pipe exactly; what the pipe is fed it must read exactly.
struct GoodStream {
    let directory: TestDirectory
    let parameters: [String]
    let data: [UInt8]
    private let setup: HostileClientTests.Setup
    private let reader: PipeReader?
    private let writer: PipeWriter?

    init(_ setup: HostileClientTests.Setup, seed: UInt64, bytes: Int = HostileClientTests.goodBytes) throws {
        self.setup = setup
        directory = try TestDirectory()
        let pipe = try directory.makeFIFO("pipe")
        data = testPattern(count: bytes, seed: seed)
        parameters = ["\(setup.mode)=\(pipe)", "size=\(HostileClientTests.exportSize)"] + (setup.window.map { [$0] } ?? [])
        switch setup.mode {
        case .write:
            reader = try PipeReader(path: pipe)
            writer = nil
        case .read:
            reader = nil
            writer = PipeWriter(path: pipe, bytes: data)
        }
    }

    /// Writes or reads the whole stream in 1 MiB requests (with a window, the
    /// first two out of order, which the window absorbs), then leaves. Bytes
    /// read other than the stream's are a thrown failure, so this may run on
    /// a thread of its own.
    func serve(through connection: NBDConnection) throws {
        let chunk = 1 << 20
        var starts = Array(stride(from: 0, to: data.count, by: chunk))
        if setup.window != nil, starts.count >= 2 { starts.swapAt(0, 1) }
        for start in starts {
            let piece = Array(data[start..<min(start + chunk, data.count)])
            switch setup.mode {
            case .write:
                try connection.pwrite(piece, offset: UInt64(start))
            case .read:
                if let difference = firstDifference(try connection.pread(count: piece.count, offset: UInt64(start)), piece) {
                    throw TestFailure("the read at \(start) got other bytes than the stream's: \(difference)")
                }
            }
        }
        switch setup.mode {
        case .write:
            guard try connection.pread(count: 4096, offset: UInt64(data.count)) == [UInt8](repeating: 0, count: 4096) else {
                throw TestFailure("above the stream's end a read gave other bytes than zeroes")
            }
            try connection.flush()
        case .read where setup.window != nil:
            // retain= still holds the first bytes: reading back is served from it.
            if let difference = firstDifference(try connection.pread(count: chunk, offset: 0), Array(data[..<chunk])) {
                throw TestFailure("reading back retained bytes: \(difference)")
            }
        case .read:
            break
        }
        try connection.shutdown()
    }

    /// After the server stopped: the pipe holds exactly the good client's bytes (write mode).
    func verify(_ replay: String) throws {
        if let reader {
            #expect(firstDifference(try reader.contents(), data) == nil, "the stream holds more or other than the good client's bytes; \(replay)")
        }
        if let writer { #expect(writer.finished(), "the feeder of the pipe did not finish; \(replay)") }
    }
}
