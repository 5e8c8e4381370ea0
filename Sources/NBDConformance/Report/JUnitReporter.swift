import Foundation

/// JUnit XML in the shape Jenkins' junit-10.xsd describes (see fixtures/junit.xsd): a testsuite per group with
/// the run's properties, testcases named by the ID's tail with classname `nbd-conformance.<group>`.
public enum JUnitReporter {
    public static func xml(_ report: RunReport) -> String {
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += "<testsuites name=\"nbd-conformance\"" + counts(report.results) + " time=\"\(seconds(report.seconds))\">\n"
        let groups = Catalog.groups.filter { group in report.results.contains { $0.group == group } }
        let timestamp = ISO8601DateFormatter.string(from: report.startedAt, timeZone: TimeZone(identifier: "UTC")!,
                                                    formatOptions: [.withInternetDateTime])
        let hostname = ProcessInfo.processInfo.hostName
        for (index, group) in groups.enumerated() {
            let results = report.results.filter { $0.group == group }
            let skipped = results.filter { $0.status == .skipped }.count
            out += "  <testsuite name=\"\(escape(group))\" id=\"\(index)\" package=\"nbd-conformance\""
                + counts(results) + " skipped=\"\(skipped)\""
                + " time=\"\(seconds(results.reduce(0) { $0 + $1.seconds }))\" timestamp=\"\(timestamp)\" hostname=\"\(escape(hostname))\">\n"
            out += "    <properties>\n"
            for property in report.properties {
                out += "      <property name=\"\(escape(property.name))\" value=\"\(escape(property.value))\"/>\n"
            }
            out += "    </properties>\n"
            results.forEach { out += testcase($0) }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    private static func testcase(_ result: CaseResult) -> String {
        let open = "    <testcase name=\"\(escape(result.name))\" classname=\"nbd-conformance.\(escape(result.group))\" time=\"\(seconds(result.seconds))\""
        let message = escape(result.message ?? "")
        // GitLab ignores the message attribute, so the body repeats it before the details.
        let body = escape([result.message, result.details].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n"))
        let about = "\(result.summary)\n\(result.requirement)"
        switch result.status {
        case .passed:
            // What a MAY case observed travels with its pass.
            guard let note = result.message else { return open + "/>\n" }
            return open + ">\n      <system-out>\(escape(note))</system-out>\n    </testcase>\n"
        case .skipped:
            return open + ">\n      <skipped message=\"\(message)\"/>\n    </testcase>\n"
        case .failed:
            return open + ">\n      <failure message=\"\(message)\" type=\"\((result.kind ?? .assertion).rawValue)\">\(escape(about))\n\(body)</failure>\n    </testcase>\n"
        case .error:
            return open + ">\n      <error message=\"\(message)\" type=\"\((result.kind ?? .harness).rawValue)\">\(body)</error>\n    </testcase>\n"
        }
    }

    private static func counts(_ results: [CaseResult]) -> String {
        " tests=\"\(results.count)\" failures=\"\(results.filter { $0.status == .failed }.count)\" errors=\"\(results.filter { $0.status == .error }.count)\""
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// Escapes markup and replaces characters XML 1.0 cannot carry (most control bytes) with U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || (0xFFFE ... 0xFFFF).contains(scalar.value):
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
