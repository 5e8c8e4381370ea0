/// Where a server listens, in the forms users type on a command line.
public enum NBDEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: String)
    /// An NBD URI such as `nbd://host:10809/export` or `nbd+unix:///?socket=/tmp/s`.
    case uri(String)
    /// A server speaking NBD on its stdin/stdout, started by libnbd (nbdkit -s style).
    case command([String])

    /// Parses `unix:PATH`, `tcp:HOST:PORT` or an `nbd…://` URI; nil for anything else.
    public init?(parsing text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst("tcp:".count)
            // The last colon separates the port, so bracketed IPv6 hosts keep theirs.
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            var host = String(rest[..<colon])
            let port = String(rest[rest.index(after: colon)...])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, !port.isEmpty, port.allSatisfy(\.isNumber) else { return nil }
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("nbd://") || text.hasPrefix("nbds://") || text.hasPrefix("nbd+unix://")
            || text.hasPrefix("nbds+unix://") || text.hasPrefix("nbd+vsock://") || text.hasPrefix("nbds+vsock://") {
            self = .uri(text)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): "tcp:\(host):\(port)"
        case .uri(let uri): uri
        case .command(let argv): "command:\(argv.joined(separator: " "))"
        }
    }
}
