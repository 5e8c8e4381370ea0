import Foundation
import NBDClient
import Synchronization

/// Runs one case on its own thread under a watchdog: past the timeout the case fails as "timeout", its server is
/// killed and its waits are cancelled, so a hanging server can never hang the run.
struct CaseRunner: Sendable {
    let environment: any CaseEnvironment
    let seed: UInt64
    let timeout: Double
    /// How long a cancelled case may take to unwind before the runner gives up on its thread.
    private static let unwindSeconds = 5.0

    init(environment: any CaseEnvironment, seed: UInt64, timeout: Double) {
        self.environment = environment
        self.seed = seed
        self.timeout = timeout
    }

    /// The result, and the stream position the case left behind (for a target's later cases).
    func run(_ testCase: ConformanceCase) -> (CaseResult, streamEnd: UInt64?) {
        let timeout = self.timeout * testCase.timeoutScale
        let started = Date()
        let elapsed = { Date().timeIntervalSince(started) }
        let prepared: PreparedCase
        do {
            prepared = try environment.prepare(testCase, seed: seed, timeout: timeout)
        } catch {
            return (Self.result(testCase, for: error, seconds: elapsed()), nil)
        }
        let outcome = Mutex<(any Error)?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let context = prepared.context
        let thread = Thread {
            do {
                try testCase.body(context)
            } catch {
                outcome.withLock { $0 = error }
            }
            finished.signal()
        }
        thread.name = testCase.id
        thread.start()

        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            prepared.context.interruption.cancel(reason: "timeout after \(timeout) s")
            if finished.wait(timeout: .now() + Self.unwindSeconds) == .timedOut {
                let log = prepared.finish()
                return (CaseResult(testCase, status: .error, message: "the case did not stop within \(Self.unwindSeconds) s of its timeout",
                                   kind: .stuck, details: log, seconds: elapsed()), nil)
            }
        }
        let log = prepared.finish()
        let streamEnd = prepared.context.finalStreamPosition
        if timedOut {
            return (CaseResult(testCase, status: .failed, message: "no progress within \(timeout) s; the server was killed",
                               kind: .timeout, details: Self.withLog("the case was cancelled by its --timeout", log), seconds: elapsed()), streamEnd)
        }
        guard let error = outcome.withLock({ $0 }) else {
            return (CaseResult(testCase, status: .passed, message: context.observations, seconds: elapsed()), streamEnd)
        }
        var result = Self.result(testCase, for: error, seconds: elapsed())
        if result.status == .failed || result.status == .error {
            result = CaseResult(testCase, status: result.status, message: result.message, kind: result.kind,
                                details: Self.withLog(result.details ?? "", log), seconds: result.seconds)
        }
        return (result, streamEnd)
    }

    private static func result(_ testCase: ConformanceCase, for error: any Error, seconds: Double) -> CaseResult {
        switch error {
        case let failure as CaseFailure:
            CaseResult(testCase, status: .failed, message: failure.message, kind: failure.kind, details: failure.details, seconds: seconds)
        case let skip as CaseSkip:
            CaseResult(testCase, status: .skipped, message: skip.reason, seconds: seconds)
        case let nbd as NBDError:
            // libnbd reporting the server's misbehaviour where the case did not expect any error.
            CaseResult(testCase, status: .failed, message: nbd.message, kind: .nbdError, details: "\(nbd)", seconds: seconds)
        case let harness as HarnessError:
            CaseResult(testCase, status: .error, message: harness.message.split(separator: "\n").first.map(String.init) ?? "",
                       kind: .harness, details: harness.message, seconds: seconds)
        default:
            CaseResult(testCase, status: .error, message: "\(error)", kind: .harness, seconds: seconds)
        }
    }

    private static func withLog(_ details: String, _ log: String) -> String {
        log.isEmpty ? details : details + "\n--- server output (tail) ---\n" + log
    }
}
