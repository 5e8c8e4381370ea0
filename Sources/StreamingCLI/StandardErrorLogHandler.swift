import Glibc
import Logging

/// Log lines as nbdkit prints them: `nbd-streaming: error: message`, one per
/// line on standard error, written whole so threads do not interleave.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        writeToStandardError("\(label): \(event.level): \(event.message)\n")
    }
}

/// One write(2) per line: stdio's stderr is shared mutable state Swift 6 rejects,
/// and a single write keeps concurrent lines whole.
func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
}
