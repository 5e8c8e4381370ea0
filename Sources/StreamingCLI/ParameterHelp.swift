import TextWrapping

/// The plugin's key=value parameters, documented once. `--help` prints them as
/// its "Parameters:" block, the shell completions offer their keys, and the
/// manual's PARAMETERS section is rendered from that block (man/README.md).
struct ParameterHelp {
    let key: String
    let value: String
    let summary: String

    static let all = [
        ParameterHelp(key: "write", value: "PATH",
                      summary: "client writes come out of PATH: a FIFO (created if missing), a Unix-domain socket to connect to, or a file"),
        ParameterHelp(key: "read", value: "PATH", summary: "PATH feeds client reads; the export is read-only"),
        ParameterHelp(key: "pipe", value: "PATH", summary: "nbdkit's older spelling of write="),
        ParameterHelp(key: "size", value: "SIZE",
                      summary: "export size: bytes or a suffix k M G T P E (powers of 1024), b (bytes), s (512-byte sectors); default 2^63 - 2^30"),
        ParameterHelp(key: "reorder", value: "SIZE",
                      summary: "write mode: hold up to SIZE bytes of writes that arrive ahead of the stream until the gap before them is filled (default 0)"),
        ParameterHelp(key: "retain", value: "SIZE",
                      summary: "read mode: keep the last SIZE bytes read from PATH for later reads (default 0)"),
    ]

    /// What completion offers for a positional argument: the keys, ready for a value.
    static var completionCandidates: [String] { all.map { "\($0.key)=" } }

    /// `  key=VALUE    summary`, the summary wrapped under itself within 80 columns,
    /// so swift-argument-parser prints the block as it stands.
    static var helpBlock: String {
        let column = 2 + (all.map { $0.key.count + 1 + $0.value.count }.max() ?? 0) + 3
        let lines = all.flatMap { parameter in
            let label = "  \(parameter.key)=\(parameter.value)"
            let wrapped = wrapWords(parameter.summary, width: 79 - column)
            return [label.padding(to: column) + wrapped[0]] + wrapped.dropFirst().map { String(repeating: " ", count: column) + $0 }
        }
        return (["Parameters:"] + lines).joined(separator: "\n")
    }
}

private extension String {
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}
