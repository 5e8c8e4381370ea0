/// The parts of a page that come from the executable's own description of its
/// command line, so they cannot drift from `--help`. man/README.md lists the markers.
struct GeneratedSections {
    let command: CommandInfo
    let versionLine: String
    let date: ManualDate

    func lines(for marker: String) throws -> [String] {
        switch marker {
        case "header": header
        case "name": name
        case "synopsis": synopsis
        case "options": options
        case "parameters": try parameters()
        default: throw ManualError("unknown marker @\(marker)@")
        }
    }

    private var displayed: [ArgumentInfo] { (command.arguments ?? []).filter(\.shouldDisplay) }

    private var header: [String] {
        [".Dd \(date.mdoc)", ".Dt \(command.commandName.uppercased()) 1", ".Os \(versionLine)"]
    }

    /// `.Nd` takes the abstract as a phrase: no full stop, and "An NBD server" becomes "an NBD server".
    private var name: [String] {
        var phrase = Substring(command.abstract ?? "")
        if phrase.hasSuffix(".") { phrase = phrase.dropLast() }
        if let first = phrase.first, phrase.dropFirst().first?.isLowercase == true { phrase = first.lowercased() + phrase.dropFirst() }
        return [".Nm \(command.commandName)", ".Nd \(phrase)"]
    }

    /// One form with every option: the one-letter flags bundled as BSD pages do, then the rest.
    private var synopsis: [String] {
        let options = displayed.filter { $0.kind != .positional && !$0.isHelpOrVersion }
        let letters = options.filter { $0.kind == .flag && !$0.shortNames.isEmpty }.map { $0.shortNames[0] }
        var lines = [".Nm"]
        if !letters.isEmpty { lines.append(".Op Fl \(letters.sorted().joined())") }
        for option in options where !(option.kind == .flag && !option.shortNames.isEmpty) {
            let name = option.shortNames.first ?? "-" + (option.longNames.first ?? "")
            let value = option.kind == .option ? " Ar \(Mdoc.argument(option.valueName ?? "value"))" : ""
            lines.append(".Op Fl \(name)\(value)")
        }
        for positional in displayed where positional.kind == .positional {
            let word = "Ar \(Mdoc.argument(positional.valueName ?? "argument"))" + (positional.isRepeating ? " ..." : "")
            lines.append(positional.isOptional ? ".Op \(word)" : ".\(word)")
        }
        return lines
    }

    /// Every option and flag as `-U PATH, --unix=PATH`, with its help, values and default as `--help` shows them.
    private var options: [String] {
        var lines = [".Bl -tag -width Ds"]
        for option in displayed where option.kind != .positional {
            let value = option.kind == .option ? Mdoc.argument(option.valueName ?? "value") : nil
            let spellings = option.shortNames.map { "Fl \($0)" + (value.map { " Ar \($0)" } ?? "") }
                + option.longNames.map { "Fl -\($0)" + (value.map { " Ns = Ns Ar \($0)" } ?? "") }
            lines.append(".It " + spellings.joined(separator: " , "))
            var notes = [String]()
            if option.kind == .option, let values = option.allValues, !values.isEmpty {
                notes.append("values: " + values.joined(separator: ", "))
            }
            if option.kind == .option, let defaultValue = option.defaultValue { notes.append("default: \(defaultValue)") }
            lines += Mdoc.text((option.abstract ?? "") + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"))
            if let discussion = option.discussion, !discussion.isEmpty { lines += [".Pp"] + Mdoc.text(discussion) }
        }
        return lines + [".El"]
    }

    /// The "Parameters:" block of the discussion, `  key=VALUE   text` with
    /// continuation lines indented further, as a tagged list.
    private func parameters() throws -> [String] {
        let discussion = (command.discussion ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = discussion.firstIndex(of: "Parameters:") else {
            throw ManualError("@parameters@ needs a \"Parameters:\" block in the command's discussion")
        }
        var items = [(key: String, value: String, text: String)]()
        for line in discussion[(start + 1)...] {
            let indent = line.prefix { $0 == " " }.count
            let words = line.split(separator: " ")
            if indent == 2, let label = words.first, let equals = label.firstIndex(of: "=") {
                items.append((String(label[..<equals]), String(label[label.index(after: equals)...]),
                              words.dropFirst().joined(separator: " ")))
            } else if indent > 2, !items.isEmpty {
                items[items.count - 1].text += " " + words.joined(separator: " ")
            } else {
                break
            }
        }
        if items.isEmpty { throw ManualError("the \"Parameters:\" block lists no key=VALUE") }
        var lines = [".Bl -tag -width Ds"]
        for item in items {
            lines.append(".It Cm \(item.key) Ns = Ns Ar \(Mdoc.argument(item.value))")
            lines += Mdoc.text(item.text)
        }
        return lines + [".El"]
    }
}

/// A page's date, `YYYY-MM-DD` on the command line, `Month D, YYYY` in `.Dd`.
struct ManualDate {
    let year: Int, month: Int, day: Int

    init?(_ text: String) {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1 ... 12).contains(parts[1]), (1 ... 31).contains(parts[2]) else { return nil }
        (year, month, day) = (parts[0], parts[1], parts[2])
    }

    var mdoc: String {
        let months = ["January", "February", "March", "April", "May", "June", "July",
                      "August", "September", "October", "November", "December"]
        return "\(months[month - 1]) \(day), \(year)"
    }
}

struct ManualError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
