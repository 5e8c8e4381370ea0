import Foundation
import TextWrapping

/// Turning help text into mdoc(7) input that `mandoc -T lint` and `groff -ww`
/// accept without a word: escapes, one sentence per line, no line over 80 bytes.
enum Mdoc {
    /// Running text as input lines.
    static func text(_ text: String) -> [String] {
        sentences(of: text).flatMap { wrapWords($0, width: 72) }.map(escapedLine)
    }

    /// A word given to a macro, e.g. a value name after `Ar`: `\&` keeps it from being read as a macro.
    static func argument(_ word: String) -> String { "\\&" + escaped(word) }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\e")
    }

    /// Backslashes escaped; a dash that starts a word is an option's, so a minus, not a hyphen;
    /// a line must not start with a control character.
    private static func escapedLine(_ line: String) -> String {
        let words = escaped(line).split(separator: " ", omittingEmptySubsequences: false).map { word in
            word.hasPrefix("-") ? word.replacingOccurrences(of: "-", with: "\\-") : String(word)
        }
        let joined = words.joined(separator: " ")
        return joined.hasPrefix(".") || joined.hasPrefix("'") ? "\\&" + joined : joined
    }

    /// roff ends a sentence where a line ends with a full stop, so each sentence gets its own line.
    private static func sentences(of text: String) -> [String] {
        var sentences = [String]()
        var current = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            current += current.isEmpty ? String(word) : " " + word
            if word.hasSuffix(".") || word.hasSuffix("?") || word.hasSuffix("!") {
                sentences.append(current)
                current = ""
            }
        }
        return current.isEmpty ? sentences : sentences + [current]
    }
}
