import Foundation
import Synchronization

/// Live progress and the closing summary on standard output.
public final class ConsoleReporter: Sendable {
    private let completed = Mutex(0)
    private let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.write = write
    }

    func started(total: Int, properties: [RunReport.Property]) {
        write("nbd-conformance: \(total) case\(total == 1 ? "" : "s"); " + properties.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "\n")
    }

    /// One line per finished case; failures and errors add their message and details, indented.
    func finished(_ result: CaseResult, total: Int) {
        completed.withLock { completed in
            completed += 1
            let width = String(total).count
            let counter = String(repeating: " ", count: width - String(completed).count) + String(completed)
            var text = "[\(counter)/\(total)] \(Self.label(result.status)) \(result.id) (\(String(format: "%.3f", result.seconds)) s)"
            if let message = result.message { text += " — \(message)" }
            text += "\n"
            if result.status == .failed || result.status == .error, let details = result.details, !details.isEmpty {
                text += details.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }.joined(separator: "\n") + "\n"
            }
            write(text)
        }
    }

    func summary(_ report: RunReport) {
        var lines = ["", "group          passed  failed  skipped  errors"]
        let groups = Array(Set(report.results.map(\.group))).sorted {
            (Catalog.groups.firstIndex(of: $0) ?? .max, $0) < (Catalog.groups.firstIndex(of: $1) ?? .max, $1)
        }
        for group in groups {
            let results = report.results.filter { $0.group == group }
            lines.append(Self.row(group, results))
        }
        lines.append(Self.row("total", report.results))
        lines.append(String(format: "%d passed, %d failed, %d skipped, %d errors in %.1f s",
                            report.count(.passed), report.count(.failed), report.count(.skipped), report.count(.error), report.seconds))
        write(lines.joined(separator: "\n") + "\n")
    }

    func problem(_ message: String) {
        FileHandle.standardError.write(Data("nbd-conformance: \(message)\n".utf8))
    }

    private static func row(_ name: String, _ results: [CaseResult]) -> String {
        func count(_ status: CaseResult.Status) -> String {
            String(results.filter { $0.status == status }.count)
        }
        return name.padding(toLength: 14, withPad: " ", startingAt: 0)
            + [count(.passed), count(.failed), count(.skipped), count(.error)].enumerated().map { index, value in
                String(repeating: " ", count: [7, 8, 9, 8][index] - value.count) + value
            }.joined()
    }

    private static func label(_ status: CaseResult.Status) -> String {
        switch status {
        case .passed: "PASS "
        case .failed: "FAIL "
        case .skipped: "SKIP "
        case .error: "ERROR"
        }
    }
}
