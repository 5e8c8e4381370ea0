import Foundation

/// `--list`: the catalog as a table, optionally narrowed by `--filter` globs (all tiers are listed).
public enum CatalogListing {
    public static func text(filters: [String], profile: Profile = .streaming) throws -> String {
        let cases = Catalog.cases(for: profile).filter { testCase in filters.isEmpty || filters.contains { CaseSelection.matches($0, testCase.id) } }
        guard !cases.isEmpty else { throw UsageError("--filter matches no case") }
        var lines: [String] = []
        for testCase in cases {
            var tags = [testCase.level.rawValue]
            if testCase.isLong { tags.append("long") }
            if testCase.windows != .none { tags.append("windows:\(testCase.windows.arguments)") }
            if let tls = testCase.serverTLS { tags.append("tls=\(tls.rawValue)") }
            if testCase.timeoutScale != 1 { tags.append("timeout x\(Int(testCase.timeoutScale))") }
            lines.append("\(testCase.id)  [\(tags.joined(separator: ", "))]")
            lines.append("    \(testCase.summary)")
            lines.append("    \(testCase.requirement.citation)")
        }
        let byDefault = cases.filter(\.runsByDefault).count
        lines.append("\(cases.count) cases in the \(profile.rawValue) profile (\(byDefault) run by default)")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func print(filters: [String], profile: Profile = .streaming) throws {
        FileHandle.standardOutput.write(Data(try text(filters: filters, profile: profile).utf8))
    }
}
