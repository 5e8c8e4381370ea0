import Foundation
import Glibc
import NBDClient
import Synchronization

/// `--target`: a server the harness did not start, which streams once. The cases share its stream: each that
/// leaves the stream usable runs as the next segment (its offsets after the highwater the previous one left,
/// its bytes verified or fed through one pipe end held for the whole run), and one case that ends the stream
/// runs last. Nothing is stopped afterwards.
final class TargetEnvironment: CaseEnvironment {
    let endpoint: NBDEndpoint
    let pipePath: String?
    let mode: StreamMode
    let exportSize: UInt64
    let strict: Bool
    let profile: Profile
    let allowWrites: Bool
    /// The target requires TLS: every client of every case presents these.
    let tls: TLSSetup?
    private let sharedPipe: SharedPipe?
    private struct Progress {
        var streamPosition: UInt64 = 0
        /// The case that ended the stream, once one has.
        var endedBy: String?
    }
    private let progress = Mutex(Progress())

    /// Asks the target whether it is read-only, which tells its mode, and its size, which later cases plan with:
    /// once the target is in its error state no new connection could ask.
    init(endpoint: NBDEndpoint, pipePath: String?, profile: Profile, allowWrites: Bool, strict: Bool, timeout: Double,
         tls: TLSSetup? = nil) throws {
        self.profile = profile
        self.tls = tls
        self.allowWrites = allowWrites
        self.strict = strict
        self.endpoint = endpoint
        self.pipePath = pipePath
        let cancellation = Cancellation()
        let watchdog = DispatchWorkItem { cancellation.cancel(reason: "no answer from the target within \(timeout) s") }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        let waitingReaderPipe = pipePath.flatMap(SharedPipe.writerForWaitingReader(at:))
        let found: (mode: StreamMode, size: UInt64)
        do {
            if waitingReaderPipe != nil, case .unix(let path) = endpoint {
                // The server just got past its FIFO's open; give it the moment it needs to listen.
                Self.waitForSocket(path, cancellation: cancellation)
            }
            let probe = try NBDConnection(cancellation: cancellation)
            try tls?.configure(probe)
            try probe.connect(endpoint)
            found = (try probe.isReadOnly() ? .read : .write, try probe.exportSize())
            try? probe.shutdown()
        } catch let error as NBDError {
            if let waitingReaderPipe { Glibc.close(waitingReaderPipe) }
            throw HarnessError("cannot reach the target \(endpoint): \(error)")
        }
        mode = found.mode
        exportSize = found.size
        // A write-mode server holding its FIFO open also lets the writer open; the harness only reads there.
        if found.mode == .write, let waitingReaderPipe { Glibc.close(waitingReaderPipe) }
        let writer = found.mode == .read ? waitingReaderPipe ?? -1 : -1
        sharedPipe = pipePath.map { SharedPipe(path: $0, mode: found.mode, descriptor: writer) }
    }

    /// Waits, in 10 ms steps until the cancellation's deadline, for `path` to appear.
    private static func waitForSocket(_ path: String, cancellation: Cancellation) {
        while !FileManager.default.fileExists(atPath: path), cancellation.cancelledReason == nil {
            usleep(10_000)
        }
    }

    /// Records where the case left the stream, and whether it ended it.
    func finished(_ testCase: ConformanceCase, result: CaseResult, streamEnd: UInt64?) {
        progress.withLock { progress in
            if let streamEnd { progress.streamPosition = max(progress.streamPosition, streamEnd) }
            if case .endsStream = testCase.role, result.status == .passed || result.status == .failed, progress.endedBy == nil {
                progress.endedBy = testCase.id
            }
        }
    }

    /// After the last case: the harness lets go of the pipe.
    func close() {
        sharedPipe?.close()
    }

    func prepare(_ testCase: ConformanceCase, seed: UInt64, timeout: Double) throws -> PreparedCase {
        try checkApplies(testCase)
        let (position, endedBy) = progress.withLock { ($0.streamPosition, $0.endedBy) }
        if case .endsStream(let order) = testCase.role, order == 1, let endedBy {
            throw CaseSkip("ends the stream, which \(endedBy) already ended (one such case per target run)")
        }
        if endedBy != nil, case .segment = testCase.role {
            throw CaseSkip("the stream has ended")
        }
        if let size = testCase.size, profile == .streaming, exportSize - min(position, exportSize) < size {
            throw CaseSkip("needs \(size) bytes of export after the highwater; the target has \(exportSize - min(position, exportSize))")
        }
        if testCase.size == nil, profile == .streaming, exportSize != CaseContext.defaultExportSize {
            throw CaseSkip("needs the default export size (2^63 - 2^30)")
        }
        let context = CaseContext(endpoint: endpoint, pipePath: pipePath, mode: mode, configuredSize: nil, exportSize: exportSize,
                                  streamPosition: position, seed: seed, strict: strict, freshServer: nil, sharedPipe: sharedPipe,
                                  streamEnded: endedBy != nil, tls: tls)
        return PreparedCase(context: context, finish: { "" })
    }

    private func checkApplies(_ testCase: ConformanceCase) throws {
        if case .freshServerOnly(let reason) = testCase.role { throw CaseSkip(reason) }
        if testCase.windows != .none { throw CaseSkip("needs a server started with its window (--server)") }
        if let wanted = testCase.mode, wanted != mode { throw CaseSkip("the target serves \(mode.rawValue) mode") }
        if profile == .disk, testCase.writesToExport, !allowWrites { throw CaseSkip("writes to the live export: needs --allow-writes") }
    }

    /// Cases that leave the stream alone first, then the segments in catalog order, then the cases that end it.
    func order(_ cases: [ConformanceCase]) -> [ConformanceCase] {
        func rank(_ role: TargetRole) -> Int {
            switch role {
            case .negotiation, .freshServerOnly: 0
            case .segment: 1
            case .endsStream(let order): 1 + order
            }
        }
        return cases.enumerated().sorted { (rank($0.element.role), $0.offset) < (rank($1.element.role), $1.offset) }.map(\.element)
    }
}
