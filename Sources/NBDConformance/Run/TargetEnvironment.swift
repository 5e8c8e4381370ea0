import Foundation
import NBDClient
import Synchronization

/// `--target`: a server the harness did not start. Cases share it, so the stream position carries over from
/// one case to the next, and nothing is stopped afterwards.
final class TargetEnvironment: CaseEnvironment {
    let endpoint: NBDEndpoint
    let pipePath: String?
    let mode: StreamMode
    let exportSize: UInt64
    let strict: Bool
    let profile: Profile
    let allowWrites: Bool
    private let streamPosition = Mutex<UInt64>(0)

    /// Asks the target whether it is read-only, which tells its mode, and its size, which later cases plan with:
    /// once the target is in its error state no new connection could ask.
    init(endpoint: NBDEndpoint, pipePath: String?, profile: Profile, allowWrites: Bool, strict: Bool, timeout: Double) throws {
        self.profile = profile
        self.allowWrites = allowWrites
        self.strict = strict
        self.endpoint = endpoint
        self.pipePath = pipePath
        let cancellation = Cancellation()
        let watchdog = DispatchWorkItem { cancellation.cancel(reason: "no answer from the target within \(timeout) s") }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        do {
            let probe = try NBDConnection(cancellation: cancellation)
            try probe.connect(endpoint)
            mode = try probe.isReadOnly() ? .read : .write
            exportSize = try probe.exportSize()
            try? probe.shutdown()
        } catch let error as NBDError {
            throw HarnessError("cannot reach the target \(endpoint): \(error)")
        }
    }

    func advance(to position: UInt64) {
        streamPosition.withLock { $0 = max($0, position) }
    }

    func prepare(_ testCase: ConformanceCase, seed: UInt64, timeout: Double) throws -> PreparedCase {
        if testCase.role == .freshServerOnly { throw CaseSkip("needs a fresh server (--server)") }
        if profile == .disk, testCase.writesToExport, !allowWrites { throw CaseSkip("writes to the live export: needs --allow-writes") }
        if let wanted = testCase.mode, wanted != mode { throw CaseSkip("the target serves \(mode.rawValue) mode") }
        let context = CaseContext(endpoint: endpoint, pipePath: pipePath, mode: mode, configuredSize: nil, exportSize: exportSize,
                                  streamPosition: streamPosition.withLock { $0 }, seed: seed, strict: strict, freshServer: nil)
        return PreparedCase(context: context, finish: { "" })
    }

    /// Cases that leave the stream alone first, then the one workload, then the probes that end in the error state.
    func order(_ cases: [ConformanceCase]) -> [ConformanceCase] {
        func rank(_ role: TargetRole) -> Int {
            switch role {
            case .negotiation, .freshServerOnly: 0
            case .workload: 1
            case .errorProbe(let order): 1 + order
            }
        }
        return cases.enumerated().sorted { (rank($0.element.role), $0.offset) < (rank($1.element.role), $1.offset) }.map(\.element)
    }
}
