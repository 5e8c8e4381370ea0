import NBDClient
import TLS

/// Connecting to the case's server, through libnbd or a raw socket.
extension CaseContext {
    /// A connection in transmission phase. libnbd's client-side checks are all off, so out-of-range, oversized
    /// and unadvertised requests reach the server, which is what the cases judge.
    func connect(configure: (NBDConnection) throws -> Void = { _ in }) throws -> NBDConnection {
        let connection = try NBDConnection(cancellation: cancellation)
        try connection.setStrictMode([])
        try tls?.configure(connection)
        try configure(connection)
        try expectSuccess("connecting to \(endpoint)") { try connection.connect(endpoint) }
        return connection
    }

    /// A connection stopped after the greeting, for option haggling.
    func connectForOptions() throws -> NBDConnection {
        try connect { try $0.setOptionMode(true) }
    }

    /// A raw connection; against a server that requires TLS, `handshake()` upgrades it first.
    func rawSocket() throws -> RawNBDSocket {
        try rawSocket(upgradingWith: tls?.clientCredentials())
    }

    /// A raw connection that stays in plaintext until the case sends NBD_OPT_STARTTLS itself.
    func plaintextRawSocket() throws -> RawNBDSocket {
        try rawSocket(upgradingWith: nil)
    }

    private func rawSocket(upgradingWith credentials: TLSClientCredentials?) throws -> RawNBDSocket {
        let socket = try RawNBDSocket(endpoint: endpoint, upgradingWith: credentials)
        interruption.onCancel { socket.interrupt() }
        return socket
    }

    /// Confirms the server still serves after something hostile: a new connection gets through negotiation.
    func expectServerStillServes(after what: String) throws {
        do {
            let connection = try NBDConnection(cancellation: cancellation)
            try tls?.configure(connection)
            try connection.connect(endpoint)
            try? connection.shutdown()
        } catch let error as NBDError {
            throw CaseFailure("the server stopped serving after \(what)", details: "new connection: \(error)")
        }
    }
}
