import ArgumentParser
import Foundation

/// Renders a manual page from a template in man/ and the executable it documents.
/// swift-argument-parser's own generate-manual tool reads the same
/// `--experimental-dump-help` document, but lays a page out its own way (no
/// PARAMETERS, EXAMPLES or FILES, a spurious `help` subcommand, preformatted help
/// text reflowed); here the hand-written sections keep nbdkit's layout and only
/// what the parser knows is generated. man/README.md tells how to edit a page.
@main
struct NBDManual: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd-manual",
        abstract: "Render an mdoc(7) manual page from TEMPLATE and EXECUTABLE's description of its command line.")

    @Argument(help: ArgumentHelp("The page's hand-written mdoc source with @marker@ comment lines.", valueName: "TEMPLATE"))
    var template: String

    @Argument(help: ArgumentHelp("The executable the page documents.", valueName: "EXECUTABLE"))
    var executable: String

    @Option(help: ArgumentHelp("The page's date, YYYY-MM-DD (default: today).", valueName: "DATE"))
    var date: String?

    func run() throws {
        guard let manualDate = ManualDate(date ?? Self.today()) else { throw ValidationError("--date takes YYYY-MM-DD") }
        let info = try JSONDecoder().decode(ToolInfo.self, from: try Self.output(of: executable, ["--experimental-dump-help"]))
        guard info.serializationVersion == 0 else {
            throw ManualError("\(executable) describes its command line in version \(info.serializationVersion); this tool reads 0")
        }
        let versionLine = String(decoding: try Self.output(of: executable, ["--version"]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let sections = GeneratedSections(command: info.command, versionLine: versionLine, date: manualDate)
        let page = try ManualTemplate(text: String(contentsOfFile: template, encoding: .utf8)).render(with: sections)
        FileHandle.standardOutput.write(Data(page.utf8))
    }

    static func output(of executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ManualError("\(executable) \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus)")
        }
        return data
    }

    static func today() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
