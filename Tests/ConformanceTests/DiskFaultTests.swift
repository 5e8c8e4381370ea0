import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// The disk profile can fail: nbd-fault-proxy sits between the harness and nbdkit's memory plugin and
    /// injects one disk fault into the traffic; the case meant to catch it must fail, with no harness error.
    @Suite(.serialized)
    struct DiskFaultTests {
        static let faults: [InjectedFault] = [
            InjectedFault(name: "stale-read", caughtBy: "disk/multi-conn-flush-covers-all-connections", kind: .wrongReply),
            InjectedFault(name: "off-by-one-write", caughtBy: "disk/read-back-request-sizes", kind: .wrongReply),
            InjectedFault(name: "extents-that-lie", caughtBy: "disk/block-status-agrees-with-data", kind: .wrongReply),
            InjectedFault(name: "overlapping-chunks", caughtBy: "disk/structured-read-chunks-cover-once", kind: .wrongReply),
            InjectedFault(name: "wrong-cookie", caughtBy: "disk/pipelined-64-in-flight", kind: .nbdError),
            InjectedFault(name: "zeroes-at-wrong-offset", caughtBy: "disk/write-zeroes-read-back-zero", kind: .wrongReply),
            InjectedFault(name: "flush-covers-own-connection-only", caughtBy: "disk/multi-conn-flush-covers-all-connections", kind: .wrongReply),
        ]

        /// nbdkit memory behind the proxy; both are in the case's process group, which the harness ends with the case.
        private static func runThroughProxy(fault: String) throws -> InProcessRun {
            let proxy = try BuiltProducts.require(BuiltProducts.faultProxy)
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let template = "'\(nbdkit)' -f -U \"$DIR/upstream.sock\" memory $SIZE & exec '\(proxy)' \"$SOCKET\" \"$DIR/upstream.sock\" \(fault)"
            return try InProcessRun.run({
                $0.profile = .disk
                $0.jobs = 2
                $0.timeout = 10
            }, deployment: .serverTemplate(template))
        }

        @Test(arguments: faults)
        func diskFaultFailsTheCaseMeantToCatchIt(_ fault: InjectedFault) throws {
            let run = try Self.runThroughProxy(fault: fault.name)
            let verdict = try #require(run.result(fault.caughtBy), "\(fault.caughtBy) did not run")
            #expect(verdict.status == .failed, "\(run.console)")
            #expect(verdict.kind == fault.kind, "\(verdict.message ?? "") \(verdict.details ?? "")")
            #expect(run.status == 1)
            #expect(run.ids(with: .error).isEmpty, "harness errors: \(run.console)")
        }

        /// Without a fault the proxy is transparent: the whole disk catalog passes through it.
        @Test func theProxyWithoutAFaultIsTransparent() throws {
            let run = try Self.runThroughProxy(fault: "none")
            #expect(run.status == 0, "\(run.console)")
        }
    }
}
