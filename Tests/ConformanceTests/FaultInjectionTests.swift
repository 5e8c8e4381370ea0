import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// A gate that cannot fail is worthless: each deliberately broken server must fail the case meant to catch it,
    /// with the harness itself reporting no errors.
    @Suite(.serialized)
    struct FaultInjectionTests {
        static let faults: [InjectedFault] = [
            // The fault spares a first write of one byte, so the catching case must start with a longer one.
            InjectedFault(name: "drop-byte", caughtBy: "sequential/write-16-in-flight", kind: .streamMismatch),
            InjectedFault(name: "skip-zero-fill", caughtBy: "seeking/forward-write-gap-zero-filled", kind: .streamMismatch),
            InjectedFault(name: "accept-backward-write", caughtBy: "seeking/backward-write-enters-error-state", kind: .wrongReply),
            InjectedFault(name: "forget-error-state", caughtBy: "seeking/error-state-refuses-new-connections", kind: .assertion),
            InjectedFault(name: "lie-about-size", caughtBy: "negotiation/write-mode-size-and-flags", kind: .assertion),
            InjectedFault(name: "disconnect-on-unknown-option", caughtBy: "negotiation/unknown-option-answered-err-unsup", kind: .connection),
            InjectedFault(name: "never-answer-flush", caughtBy: "sequential/flush", kind: .timeout, timeout: 4),
        ]

        @Test(arguments: faults)
        func faultFailsTheCaseMeantToCatchIt(_ fault: InjectedFault) throws {
            let faulty = try BuiltProducts.require(BuiltProducts.faultyServer)
            let run = try InProcessRun.run({
                $0.jobs = 2
                $0.timeout = fault.timeout
                // No fault touches memory use, which this gigabyte case checks; OurServerTests runs it.
                $0.excludes = ["oversized/forward-gap-1gib"]
            }, deployment: .serverTemplate("NBD_FAULT=\(fault.name) '\(faulty)' -f -U $SOCKET $ARGS"))
            let verdict = try #require(run.result(fault.caughtBy), "\(fault.caughtBy) did not run")
            #expect(verdict.status == .failed, "\(run.console)")
            #expect(verdict.kind == fault.kind, "\(verdict.message ?? "") \(verdict.details ?? "")")
            #expect(run.status == 1)
            #expect(run.ids(with: .error).isEmpty, "harness errors: \(run.console)")
        }
    }
}
