import Foundation
import Glibc
import NBDClient

/// What a case body works with: the endpoint of its server, the pipe, and helpers that connect, stream and verify.
/// The watchdog thread calls `cancel` on timeout, which unblocks every wait the body may be stuck in.
public final class CaseContext: @unchecked Sendable {
    let endpoint: NBDEndpoint
    let pipePath: String?
    let mode: StreamMode
    /// The `size=` the server was started with, which negotiation must report; nil against a target.
    let configuredSize: UInt64?
    /// The size requests are planned against: the configured one, or what the target advertised when probed.
    let exportSize: UInt64
    /// Where the stream stands when the case starts: 0 on a fresh server, after the workload on a target.
    let streamPosition: UInt64
    let pattern: StreamPattern
    let seed: UInt64
    /// The windows the server was started with, which the stream model must know.
    let windows: StreamWindows
    let cancellation = Cancellation()
    /// Stops the server gracefully so its pipe reaches end of file; nil against a target.
    private let stopServer: (() -> Void)?
    private let pipeKeeper: PipeKeeper?
    /// The server's peak resident memory so far; nil against a target, whose processes the harness cannot see.
    private let serverPeakMemory: (() -> UInt64)?
    private let lock = NSLock()
    private var interrupters: [() -> Void] = []
    /// Where the stream stands after `runStream`, so a target's later cases know the highwater.
    private(set) var streamEnd: UInt64 = 0

    init(endpoint: NBDEndpoint, pipePath: String?, mode: StreamMode, configuredSize: UInt64?, exportSize: UInt64, streamPosition: UInt64,
         seed: UInt64, windows: StreamWindows = .none, stopServer: (() -> Void)?, pipeKeeper: PipeKeeper? = nil,
         serverPeakMemory: (() -> UInt64)? = nil) {
        self.windows = windows
        self.endpoint = endpoint
        self.pipePath = pipePath
        self.mode = mode
        self.configuredSize = configuredSize
        self.exportSize = exportSize
        self.streamPosition = streamPosition
        self.seed = seed
        self.pattern = StreamPattern(seed: seed)
        self.stopServer = stopServer
        self.pipeKeeper = pipeKeeper
        self.serverPeakMemory = serverPeakMemory
    }

    /// The nbdkit default: 2^63 - 2^30, the largest disk qemu accepts.
    static let defaultExportSize: UInt64 = 9_223_372_035_781_033_984

    var isFreshServer: Bool { stopServer != nil }

    var finalStreamPosition: UInt64 { lock.withLock { max(streamEnd, streamPosition) } }

    // MARK: Cancellation

    func onCancel(_ interrupter: @escaping () -> Void) {
        lock.withLock { interrupters.append(interrupter) }
    }

    func cancel(reason: String) {
        cancellation.cancel(reason: reason)
        let pending = lock.withLock { interrupters }
        pending.forEach { $0() }
        if let pipePath {
            Fifo.unblockReader(at: pipePath)
            Fifo.unblockWriter(at: pipePath)
        }
    }

    // MARK: Connecting

    /// A connection in transmission phase. libnbd's client-side checks are all off, so out-of-range, oversized
    /// and unadvertised requests reach the server, which is what the cases judge.
    func connect(configure: (NBDConnection) throws -> Void = { _ in }) throws -> NBDConnection {
        let connection = try NBDConnection(cancellation: cancellation)
        try connection.setStrictMode([])
        try configure(connection)
        try expectSuccess("connecting to \(endpoint)") { try connection.connect(endpoint) }
        return connection
    }

    /// A connection stopped after the greeting, for option haggling.
    func connectForOptions() throws -> NBDConnection {
        try connect { try $0.setOptionMode(true) }
    }

    func rawSocket() throws -> RawNBDSocket {
        let socket = try RawNBDSocket(endpoint: endpoint)
        onCancel { socket.interrupt() }
        return socket
    }

    // MARK: Streams

    /// Runs `phases` of requests, each on a new connection, with `depth` requests in flight; checks every reply
    /// against the stream model and, in write mode, every byte of the pipe. `pipeLength` is how much a read-mode
    /// server is fed (default: exactly what the reads consume). With `memoryLimit`, a server whose processes grew
    /// past it fails the case.
    /// `whileServing` runs after the requests but before a fresh server is stopped, for checks that need it alive.
    /// With `concurrent`, every phase's connection is opened before the first request and all stay open to the end,
    /// so several connections share the stream at once (what multi-conn promises).
    func runStream(_ phases: [[StreamRequest]], depth: Int = 1, pipeLength: UInt64? = nil, memoryLimit: UInt64? = nil,
                   concurrent: Bool = false, whileServing: () throws -> Void = {}) throws {
        var planner = StreamModel(mode: mode, exportSize: exportSize, pipeLength: pipeLength ?? .max, windows: windows)
        // The model starts where the stream stands, so a target that already streamed is planned correctly.
        planner.assumeStreamed(upTo: streamPosition)
        let plannedPhases = phases.map { requests in
            defer { if !concurrent { planner.lastConnectionClosed() } }
            return requests.map { ($0, planner.apply($0)) }
        }
        if concurrent { planner.lastConnectionClosed() }
        let stream = planner.stream
        lock.withLock { streamEnd = planner.highwater }
        let verifier = try startPipeSide(stream: stream, pipeLength: pipeLength)

        // Whatever happens to the requests, the pipe side is finished, so no verifier or feeder thread is left behind.
        let sending = Result { () throws -> [WorkloadRunner.Discrepancy] in
            var discrepancies: [WorkloadRunner.Discrepancy] = []
            let shared = concurrent ? try plannedPhases.map { _ in try connect() } : []
            for (index, requests) in plannedPhases.enumerated() {
                let connection = concurrent ? shared[index] : try connect()
                discrepancies += try expectSuccess("sending the workload") {
                    try WorkloadRunner(connection: connection, pattern: pattern, depth: depth).run(requests)
                }
                if !concurrent { try? connection.shutdown() }
            }
            shared.forEach { try? $0.shutdown() }
            return discrepancies
        }
        let peakMemory = serverPeakMemory?()
        let servingResult = sending.flatMap { _ in Result { try whileServing() } }
        let pipeProblem = finishPipeSide(verifier)
        try reportStream(discrepancies: try sending.get(), pipeProblem: pipeProblem)
        try servingResult.get()
        if let memoryLimit, let peakMemory {
            try expect(peakMemory <= memoryLimit, "the server's memory grew with the stream",
                       expected: "peak resident set <= \(memoryLimit >> 20) MiB", actual: "\(peakMemory >> 20) MiB")
        }
    }

    private enum PipeSide {
        case verifier(PipeVerifier)
        case feeder(PipeFeeder)
        case none
    }

    private func startPipeSide(stream: ExpectedStream, pipeLength: UInt64?) throws -> PipeSide {
        guard let pipePath else {
            // Against a target without --pipe only the replies can be judged, which is not enough for a stream case.
            throw CaseSkip("needs --pipe to see the stream")
        }
        switch mode {
        case .write:
            // A target's pipe stays open after its stream, so there is no end of file to wait for when no bytes are due.
            guard isFreshServer || stream.length > streamPosition else { return .none }
            let verifier = PipeVerifier(path: pipePath, expected: stream, origin: streamPosition, pattern: pattern,
                                        ending: isFreshServer ? .endOfFile : .knownLength)
            verifier.start()
            return .verifier(verifier)
        case .read:
            let end = pipeLength ?? stream.length
            // A target that already consumed its stream gets nothing more; opening its FIFO would only end it.
            guard end > streamPosition else { return .none }
            let feeder = PipeFeeder(path: pipePath, range: streamPosition ..< end, pattern: pattern,
                                    afterOpen: { [pipeKeeper] in pipeKeeper?.releaseWriter() })
            feeder.start()
            return .feeder(feeder)
        }
    }

    /// Ends the stream (stopping a fresh server so the pipe reaches end of file) and returns what the pipe side found.
    private func finishPipeSide(_ side: PipeSide) -> String? {
        if let stopServer {
            stopServer()
            // A server that never opened its pipe leaves the verifier blocked in open(); with the server gone,
            // a momentary writer lets that open return and the verifier report what it (did not) see.
            if let pipePath { Fifo.unblockReader(at: pipePath) }
        }
        pipeKeeper?.release()
        switch side {
        case .verifier(let verifier):
            guard let verdict = verifier.result(within: 30) else { return "the pipe was not read to its end within 30 s" }
            return verdict.problem
        case .feeder(let feeder):
            return feeder.problem(within: 10)
        case .none:
            return nil
        }
    }

    private func reportStream(discrepancies: [WorkloadRunner.Discrepancy], pipeProblem: String?) throws {
        guard !discrepancies.isEmpty || pipeProblem != nil else { return }
        var details = discrepancies.prefix(10).map(\.description)
        if discrepancies.count > 10 { details.append("… and \(discrepancies.count - 10) more") }
        if let pipeProblem { details.append(pipeProblem) }
        details.append("seed \(seed)")
        let message = discrepancies.first.map { "\($0)" } ?? pipeProblem!.split(separator: "\n").first.map(String.init)!
        throw CaseFailure(message, details: details.joined(separator: "\n"),
                          kind: discrepancies.isEmpty ? "stream-mismatch" : "wrong-reply")
    }

    /// Confirms the server still serves after something hostile: a new connection gets through negotiation.
    func expectServerStillServes(after what: String) throws {
        do {
            let connection = try NBDConnection(cancellation: cancellation)
            try connection.connect(endpoint)
            try? connection.shutdown()
        } catch let error as NBDError {
            throw CaseFailure("the server stopped serving after \(what)", details: "new connection: \(error)")
        }
    }
}
