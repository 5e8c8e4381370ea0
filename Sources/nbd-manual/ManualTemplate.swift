/// A hand-written page in which comment lines `.\" @marker@` stand for generated
/// sections. Every page must carry the markers for the parts `--help` also shows,
/// so no page can leave an option out.
struct ManualTemplate {
    static let requiredMarkers: Set = ["header", "name", "synopsis", "options"]

    let text: String

    func render(with sections: GeneratedSections) throws -> String {
        var output = [String]()
        var seen = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let marker = Self.marker(in: line) else {
                output.append(String(line))
                continue
            }
            guard seen.insert(marker).inserted else { throw ManualError("@\(marker)@ appears twice") }
            output += try sections.lines(for: marker)
        }
        let missing = Self.requiredMarkers.subtracting(seen)
        guard missing.isEmpty else { throw ManualError("the template lacks @\(missing.sorted().joined(separator: "@, @"))@") }
        return output.joined(separator: "\n")
    }

    private static func marker(in line: Substring) -> String? {
        let prefix = #".\" @"#
        guard line.hasPrefix(prefix), line.hasSuffix("@"), line.count > prefix.count + 1 else { return nil }
        return String(line.dropFirst(prefix.count).dropLast())
    }
}
