/// Breaks `text` at spaces into lines of at most `width` characters (a word
/// longer than that gets a line of its own). Used wherever the project lays
/// out text for a terminal or a manual page.
public func wrapWords(_ text: some StringProtocol, width: Int) -> [String] {
    var lines = [String]()
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty, line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
    }
    return line.isEmpty ? lines : lines + [line]
}
