/// Where the server listens, as the command line chose.
public enum Endpoint: Sendable, Equatable {
    case unix(path: String)
    case tcp(host: String?, port: UInt16)
}

/// How clients reach the server.
public enum ListenMode: Sendable, Equatable {
    /// Listen on a Unix socket at a path; the server removes the socket when it stops.
    case unix(path: String)
    /// `-U -`: a socket in a fresh private directory, removed with it.
    case privateUnix
    case tcp(host: String?, port: UInt16)
    /// `-s`: one client on standard input and output.
    case single
}
