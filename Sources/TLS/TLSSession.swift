import CGnuTLS
import Glibc
import SystemPackage

/// One TLS session over a connected descriptor, server or client side: the
/// handshake, then records in both directions. It owns no descriptor; the
/// caller closes the socket after `bye()`.
///
/// One thread may read while another writes (GnuTLS allows one of each at a
/// time); two readers or two writers must be serialized by the caller.
public final class TLSSession: @unchecked Sendable {
    private let session: gnutls_session_t
    /// Credentials must outlive every session that uses them.
    private let credentials: AnyObject
    /// Small buffers are gathered here into one record, so a reply header and
    /// its payload do not cost a record (and a system call) each.
    private var gather: UnsafeMutableRawBufferPointer
    private var recordSize: Int
    private let input: FileDescriptor
    private let output: FileDescriptor
    /// Reads ciphertext in large pieces once the handshake is over, unless
    /// the kernel decrypts (then GnuTLS reads through the kernel).
    private var readAhead: ReadAheadTransport?

    /// A server session on `input` (and `output`, when `-s` serves a pair of
    /// descriptors). The handshake starts with `handshake(deadline:)`.
    public static func server(input: FileDescriptor, output: FileDescriptor? = nil, credentials: TLSServerCredentials) throws(TLSError) -> TLSSession {
        let tls = try TLSSession(role: GNUTLS_SERVER.rawValue, input: input, output: output ?? input, credentials: credentials)
        try credentials.configure(tls.session)
        return tls
    }

    /// A client session on `socket`; `serverName`, if given, is sent (SNI)
    /// and the server's certificate must carry it.
    public static func client(socket: FileDescriptor, credentials: TLSClientCredentials, serverName: String? = nil) throws(TLSError) -> TLSSession {
        let tls = try TLSSession(role: GNUTLS_CLIENT.rawValue, input: socket, output: socket, credentials: credentials)
        try credentials.configure(tls.session, serverName: serverName)
        return tls
    }

    private init(role: UInt32, input: FileDescriptor, output: FileDescriptor, credentials: AnyObject) throws(TLSError) {
        var session: gnutls_session_t?
        // NO_SIGNAL: a peer that hangs up must not raise SIGPIPE in the server.
        try GnuTLS.check(gnutls_init(&session, role | GNUTLS_NO_SIGNAL.rawValue), "starting a TLS session")
        self.session = session!
        self.credentials = credentials
        self.input = input
        self.output = output
        recordSize = Int(gnutls_record_get_max_size(session))
        gather = .allocate(byteCount: recordSize, alignment: 16)
        gnutls_transport_set_int2(session, input.rawValue, output.rawValue)
    }

    deinit {
        gnutls_deinit(session)
        gather.deallocate()
    }

    /// Runs the handshake to its end. With a deadline it fails with
    /// `.timedOut` once the deadline passes, however the peer spreads its
    /// bytes; without one it waits as long as the peer takes. `onPeerMessage`
    /// is called whenever a handshake message arrives from the peer.
    public func handshake(deadline: ContinuousClock.Instant? = nil, onPeerMessage: (() -> Void)? = nil) throws(TLSError) {
        let arrivals = onPeerMessage.map { HandshakeArrivals(session: session, arrived: $0) }
        defer { arrivals?.remove() }
        while true {
            var milliseconds: Int64 = 0  // GnuTLS: no timeout
            if let deadline {
                let left = deadline - .now
                guard left > .zero else { throw .timedOut(operation: "TLS handshake") }
                let (seconds, attoseconds) = left.components
                milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            }
            gnutls_handshake_set_timeout(session, UInt32(clamping: milliseconds))
            errno = 0
            let status = gnutls_handshake(session)
            if status == GNUTLS_E_SUCCESS { break }
            if status == GNUTLS_E_TIMEDOUT { throw .timedOut(operation: "TLS handshake") }
            // With a deadline, the clock above decides; without one, only the socket's own timeout ends the wait.
            if status == GNUTLS_E_AGAIN, deadline == nil, Self.transportTimedOut() {
                throw .timedOut(operation: "TLS handshake")
            }
            if gnutls_error_is_fatal(status) == 0 { continue }
            let reason = handshakeFailure(status)
            // Tell the peer why (a wrong key, an untrusted certificate), so
            // its user reads a reason rather than a dropped connection.
            if ![GNUTLS_E_PUSH_ERROR, GNUTLS_E_PULL_ERROR, GNUTLS_E_PREMATURE_TERMINATION].contains(status) {
                _ = gnutls_alert_send_appropriate(session, status)
            }
            throw .failed(operation: "TLS handshake", code: status, reason: reason)
        }
        let negotiated = Int(gnutls_record_get_max_size(session))
        if negotiated != recordSize {
            gather.deallocate()
            recordSize = negotiated
            gather = .allocate(byteCount: recordSize, alignment: 16)
        }
        // Only now: bytes read ahead during the handshake would be lost to a
        // kernel that takes over the records.
        if kernelTLS == .off || kernelTLS == .sendOnly {
            let transport = ReadAheadTransport(input: input, output: output, session: session)
            transport.install()
            readAhead = transport
        }
    }

    /// Reads decrypted bytes into `buffer`: at least one, after waiting for a
    /// record if none is buffered, and as many more as can be had without
    /// waiting. 0 means the peer closed the session.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        var filled = 0
        while filled < buffer.count {
            // Once some bytes are in, only a record already here is worth taking.
            if filled > 0, pending == 0, readAhead?.holdsRecord != true { break }
            guard let count = try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])) else { continue }
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Writes all of `buffers`, in order, in as few records as the record
    /// size allows: small buffers are gathered into one record, and whole
    /// records of large buffers are encrypted straight from the caller's memory.
    public func write(_ buffers: [UnsafeRawBufferPointer]) throws(TLSError) {
        var gathered = 0
        for buffer in buffers {
            var rest = buffer[...]
            while !rest.isEmpty {
                if gathered == 0, rest.count >= recordSize {
                    rest = rest.dropFirst(try send(UnsafeRawBufferPointer(rebasing: rest)))
                    continue
                }
                let count = min(rest.count, recordSize - gathered)
                UnsafeMutableRawBufferPointer(rebasing: gather[gathered..<gathered + count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.prefix(count)))
                gathered += count
                rest = rest.dropFirst(count)
                if gathered == recordSize {
                    try sendAll(UnsafeRawBufferPointer(rebasing: gather[..<gathered]))
                    gathered = 0
                }
            }
        }
        if gathered > 0 { try sendAll(UnsafeRawBufferPointer(rebasing: gather[..<gathered])) }
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws(TLSError) {
        try write([buffer])
    }

    /// Decrypted bytes waiting in the session.
    private var pending: Int { gnutls_record_check_pending(session) }

    /// Sends a TLS 1.3 KeyUpdate: from now on this side encrypts with fresh
    /// keys, and with `askingPeer` the peer must renew its own before it
    /// sends more (RFC 8446, 4.6.3). Like a write, it must not run beside another.
    public func updateKeys(askingPeer: Bool) throws(TLSError) {
        while true {
            errno = 0
            let status = gnutls_session_key_update(session, askingPeer ? UInt32(GNUTLS_KU_PEER) : 0)
            if status == GNUTLS_E_SUCCESS { return }
            if status == GNUTLS_E_AGAIN, Self.transportTimedOut() { throw .timedOut(operation: "TLS key update") }
            if gnutls_error_is_fatal(status) == 0 { continue }
            throw .failed(operation: "TLS key update", code: status, reason: GnuTLS.reason(status))
        }
    }

    /// Sends the closing alert (close_notify) without waiting for the peer's,
    /// so a peer that never answers cannot hold the connection open.
    public func bye() throws(TLSError) {
        var status: Int32
        repeat { status = gnutls_bye(session, GNUTLS_SHUT_WR) } while status == GNUTLS_E_INTERRUPTED
        try GnuTLS.check(status, "closing the TLS session")
    }

    /// Whether the kernel took over the records after the handshake.
    public var kernelTLS: KernelTLS { KernelTLS(gnutls_transport_is_ktls_enabled(session)) }

    /// The negotiated protocol, key exchange and cipher, for logs, e.g.
    /// "(TLS1.3)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)".
    public var negotiated: String {
        guard let text = gnutls_session_get_desc(session) else { return "none" }
        defer { cgnutls_free(text) }
        return String(cString: text)
    }

    /// The PSK username the client authenticated as (server side), if any.
    public var pskUsername: String? {
        gnutls_psk_server_get_username(session).map { String(cString: $0) }
    }

    // MARK: Records

    /// Decrypts one record's bytes into `buffer`; 0 when the peer closed the
    /// session, nil when the record held none: GnuTLS answers GNUTLS_E_AGAIN,
    /// even on a blocking socket, once it has processed a TLS 1.3
    /// post-handshake message (the peer's KeyUpdate; a NewSessionTicket on a
    /// client). Only the socket's own receive timeout is a timeout.
    private func receive(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int? {
        errno = 0
        let count = gnutls_record_recv(session, buffer.baseAddress, buffer.count)
        if count >= 0 { return count }
        let code = Int32(count)
        switch code {
        case GNUTLS_E_INTERRUPTED:
            return nil
        case GNUTLS_E_PREMATURE_TERMINATION:
            // The peer closed the socket without close_notify. NBD frames
            // every message, so a cut inside one is still caught by the
            // reader; between messages it is an ordinary disconnect.
            return 0
        case GNUTLS_E_AGAIN:
            let timedOut = readAhead.map { $0.takeTimedOut() } ?? Self.transportTimedOut()
            if timedOut { throw .timedOut(operation: "TLS read") }
            return nil
        case GNUTLS_E_REHANDSHAKE:
            throw .failed(operation: "TLS read", code: code, reason: "the peer asked to renegotiate, which is not supported")
        default:
            if gnutls_error_is_fatal(code) == 0 { return nil }
            throw .failed(operation: "TLS read", code: code, reason: GnuTLS.reason(code))
        }
    }

    /// Encrypts and sends one record of up to `recordSize` bytes of `bytes`;
    /// returns how many it took.
    private func send(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        while true {
            errno = 0
            let count = gnutls_record_send(session, bytes.baseAddress, bytes.count)
            if count >= 0 { return count }
            let code = Int32(count)
            if code == GNUTLS_E_INTERRUPTED { continue }
            if code == GNUTLS_E_AGAIN {
                if Self.transportTimedOut() { throw .timedOut(operation: "TLS write") }
                continue
            }
            throw .failed(operation: "TLS write", code: code, reason: GnuTLS.reason(code))
        }
    }

    /// Whether GnuTLS's own transport (send, or recv before the read-ahead
    /// takes over) left EAGAIN behind: the socket's timeout expired. The
    /// callers clear errno before each GnuTLS call, so an old EAGAIN cannot count.
    private static func transportTimedOut() -> Bool {
        errno == EAGAIN || errno == EWOULDBLOCK
    }

    private func sendAll(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var sent = 0
        while sent < bytes.count {
            sent += try send(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
        }
    }

    /// GnuTLS's reason, with what the peer said or why its certificate failed.
    private func handshakeFailure(_ code: Int32) -> String {
        var reason = GnuTLS.reason(code)
        if code == GNUTLS_E_FATAL_ALERT_RECEIVED || code == GNUTLS_E_WARNING_ALERT_RECEIVED,
           let alert = gnutls_alert_get_name(gnutls_alert_get(session)) {
            reason += " (\(String(cString: alert)))"
        }
        if code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR {
            var text = gnutls_datum_t()
            let status = gnutls_session_get_verify_cert_status(session)
            if gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0 {
                reason += " (\(String(cString: text.data)))"
                cgnutls_free(text.data)
            }
        }
        return reason
    }
}
