import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// Every report the harness writes validates against fixtures/junit.xsd with xmllint, for all four outcomes.
    @Suite(.serialized)
    struct JUnitReportTests {
        /// nbdkit's memory plugin is a real server that passes some negotiation cases and fails one (it is not
        /// read-only) and skips another (it advertises no block sizes), so one run yields every outcome.
        @Test func mixedOutcomesValidateAndCountCorrectly() throws {
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let report = try junitReport(template: "'\(nbdkit)' -f -U $SOCKET memory 1M", excluding: ["negotiation/abort-acknowledged"])
            defer { try? FileManager.default.removeItem(atPath: report) }
            try validate(report)
            #expect(try xpath("count(//testcase)", report) == "13")
            #expect(try xpath("count(//testcase/failure)", report) == "1")
            #expect(try xpath("count(//testcase/skipped)", report) == "2")
            #expect(try xpath("string(//testcase[@name='abort-acknowledged']/skipped/@message)", report) == "excluded")
            #expect(try xpath("string(//testsuite/@name)", report) == "negotiation")
            #expect(try xpath("string(//testcase[1]/@classname)", report) == "nbd-conformance.negotiation")
            #expect(try xpath("string(//property[@name='libnbd']/@value)", report).hasPrefix("1."))
            #expect(try xpath("string(//testcase[@name='read-mode-is-read-only']/failure/@type)", report) == "assertion")
            #expect(try xpath("string(//testcase[@name='block-sizes-reported']/system-out)", report) == "no NBD_INFO_BLOCK_SIZE")
            // The failure quotes the requirement it checks, with its level and source.
            #expect(try xpath("string(//testcase[@name='read-mode-is-read-only']/failure)", report)
                .contains(#"MUST nbdkit-streaming-plugin(1): "nbdkit streaming read=PIPE [size=SIZE]""#))
        }

        /// The spec permits an error reply to NBD_OPT_LIST, so only the SHOULD case fails, and only under --strict.
        @Test func refusedListFailsOnlyTheShouldCase() throws {
            let nbdkit = try BuiltProducts.tool("nbdkit")
            let template = "'\(nbdkit)' -f -U $SOCKET --filter=exportname memory 1M exportname-list=error"
            let strict = try InProcessRun.run({
                $0.strict = true
                $0.filters = ["negotiation/list-exports*"]
            }, deployment: .serverTemplate(template))
            #expect(strict.result("negotiation/list-exports")?.status == .passed, "\(strict.console)")
            #expect(strict.result("negotiation/list-exports-not-refused")?.status == .failed)
            #expect(strict.status == 1)
            let lenient = try InProcessRun.run({ $0.filters = ["negotiation/list-exports*"] }, deployment: .serverTemplate(template))
            #expect(lenient.status == 0, "\(lenient.console)")
            #expect(lenient.result("negotiation/list-exports-not-refused") == nil)
        }

        /// A template that cannot start a server is the harness's problem, reported as <error>, not <failure>.
        @Test func harnessErrorsBecomeErrorElements() throws {
            let report = try junitReport(template: "exit 3", excluding: [])
            defer { try? FileManager.default.removeItem(atPath: report) }
            try validate(report)
            #expect(try xpath("count(//testcase/error)", report) == "13")
            #expect(try xpath("count(//testcase/failure)", report) == "0")
        }

        /// The schema itself must be able to reject: a testcase without a name is invalid.
        @Test func schemaRejectsNamelessTestcase() throws {
            let path = NSTemporaryDirectory() + "nameless-\(UUID().uuidString).xml"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try """
                <testsuites><testsuite name="x" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite></testsuites>
                """.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--noout", "--schema", BuiltProducts.junitSchema, path])
            #expect(result.status != 0)
        }

        @Test func controlBytesAndMarkupAreEscaped() {
            #expect(JUnitReporter.escape("a\u{01}<b>&\"'\n") == "a\u{FFFD}&lt;b&gt;&amp;&quot;&apos;\n")
        }

        private func junitReport(template: String, excluding: [String]) throws -> String {
            let path = NSTemporaryDirectory() + "junit-\(UUID().uuidString).xml"
            _ = try InProcessRun.run({
                $0.filters = ["negotiation/*"]
                $0.strict = true
                $0.excludes = excluding
                $0.junitPath = path
                $0.timeout = 10
            }, deployment: .serverTemplate(template))
            return path
        }

        private func validate(_ path: String) throws {
            let result = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--noout", "--schema", BuiltProducts.junitSchema, path])
            #expect(result.status == 0, "\(result.errorOutput)")
        }

        private func xpath(_ expression: String, _ path: String) throws -> String {
            let result = try ChildProcess.run(try BuiltProducts.tool("xmllint"), ["--xpath", expression, path])
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
