import CLibNBD
import Glibc

/// One libnbd handle. Every blocking call is driven through libnbd's aio interface and `nbd_poll` with a short
/// timeout, so a `Cancellation` set from another thread ends any wait even if the server never answers.
/// A connection is used from one thread at a time.
public final class NBDConnection {
    let handle: OpaquePointer
    let cancellation: Cancellation
    /// How long one `nbd_poll` may block before the cancellation flag is checked again.
    private static let pollSliceMilliseconds: Int32 = 50

    public init(cancellation: Cancellation = Cancellation()) throws {
        guard let handle = nbd_create() else { throw NBDError.last() }
        self.handle = handle
        self.cancellation = cancellation
    }

    deinit { nbd_close(handle) }

    /// The libnbd version string, e.g. "1.14.2".
    public static func libraryVersion() -> String {
        guard let probe = nbd_create() else { return "unknown" }
        defer { nbd_close(probe) }
        return nbd_get_version(probe).map { String(cString: $0) } ?? "unknown"
    }

    // MARK: Settings that must be chosen before connecting

    public func setStrictMode(_ mode: StrictMode) throws { try check(nbd_set_strict_mode(handle, mode.rawValue)) }
    public var strictMode: StrictMode { StrictMode(rawValue: nbd_get_strict_mode(handle)) }

    public func setHandshakeFlags(_ flags: HandshakeFlags) throws {
        try check(nbd_set_handshake_flags(handle, flags.rawValue))
    }
    /// Before connecting: the flags the client offers; afterwards: the ones both sides agreed on.
    public var handshakeFlags: HandshakeFlags { HandshakeFlags(rawValue: nbd_get_handshake_flags(handle)) }

    /// In option mode the connection stops after the greeting so options can be sent one by one.
    public func setOptionMode(_ enabled: Bool) throws { try check(nbd_set_opt_mode(handle, enabled)) }
    public func setRequestStructuredReplies(_ enabled: Bool) throws {
        try check(nbd_set_request_structured_replies(handle, enabled))
    }
    public func setExportName(_ name: String) throws { try check(nbd_set_export_name(handle, name)) }
    public func setFullInfo(_ enabled: Bool) throws { try check(nbd_set_full_info(handle, enabled)) }
    public func setRequestBlockSize(_ enabled: Bool) throws { try check(nbd_set_request_block_size(handle, enabled)) }
    public func addMetaContext(_ name: String) throws { try check(nbd_add_meta_context(handle, name)) }
    public func clearMetaContexts() throws { try check(nbd_clear_meta_contexts(handle)) }

    // MARK: Connecting

    public func connect(_ endpoint: NBDEndpoint) throws {
        switch endpoint {
        case .unix(let path): try check(nbd_aio_connect_unix(handle, path))
        case .tcp(let host, let port): try check(nbd_aio_connect_tcp(handle, host, port))
        case .uri(let uri):
            // The URI is the user's own, so it may name key files (tls-psk-file=), as nbdinfo and nbdcopy allow.
            try check(nbd_set_uri_allow_local_file(handle, true))
            try check(nbd_aio_connect_uri(handle, uri))
        case .command(let argv): try connectCommand(argv)
        }
        try wait { nbd_aio_is_connecting(handle) == 1 || nbd_aio_is_created(handle) == 1 }
        try checkAlive()
    }

    private func connectCommand(_ argv: [String]) throws {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        try check(nbd_aio_connect_command(handle, &cArgs))
    }

    /// Sends NBD_CMD_DISC (or NBD_OPT_ABORT while negotiating) and waits for the server to close.
    public func shutdown() throws {
        if nbd_aio_is_negotiating(handle) == 1 {
            try check(nbd_aio_opt_abort(handle))
        } else {
            try check(nbd_shutdown(handle, 0))
        }
        try wait { nbd_aio_is_closed(handle) == 0 && nbd_aio_is_dead(handle) == 0 }
    }

    /// libnbd's name for the state machine's current state, useful in failure reports.
    public var connectionState: String { nbd_connection_state(handle).map { String(cString: $0) } ?? "unknown" }
    public var isDead: Bool { nbd_aio_is_dead(handle) == 1 || nbd_aio_is_closed(handle) == 1 }

    // MARK: Waiting

    /// Polls until `pending` turns false, checking the cancellation flag between slices.
    func wait(while pending: () -> Bool) throws {
        while pending() {
            try pollOnce(timeoutMilliseconds: Self.pollSliceMilliseconds)
        }
    }

    /// One round of libnbd's state machine; for callers that keep several aio commands in flight.
    public func pollOnce(timeoutMilliseconds: Int32 = 50) throws {
        if let reason = cancellation.cancelledReason {
            throw NBDError(errno: ECANCELED, message: "cancelled: \(reason)")
        }
        try check(nbd_poll(handle, timeoutMilliseconds))
    }

    func checkAlive() throws {
        if isDead { throw NBDError(errno: ENOTCONN, message: "connection closed (state \(connectionState))") }
    }

    /// Waits for a command submitted without a completion callback and returns its outcome.
    func waitForCommand(_ cookie: Int64) throws {
        while true {
            let done = nbd_aio_command_completed(handle, UInt64(bitPattern: cookie))
            if done == 1 { return }
            if done == -1 { throw NBDError.last() }
            try pollOnce()
        }
    }
}
