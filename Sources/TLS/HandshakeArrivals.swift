import CGnuTLS

/// Calls back whenever a handshake message arrives from the peer, through
/// GnuTLS's handshake hook, so that a server can count a client in the middle
/// of its TLS handshake as heard from, as it does for the bytes it reads
/// itself. Set for the handshake alone, on the thread that runs it.
final class HandshakeArrivals {
    private let session: gnutls_session_t
    private let arrived: () -> Void

    init(session: gnutls_session_t, arrived: @escaping () -> Void) {
        self.session = session
        self.arrived = arrived
        gnutls_session_set_ptr(session, Unmanaged.passUnretained(self).toOpaque())
        gnutls_handshake_set_hook_function(session, Self.anyMessage, GNUTLS_HOOK_PRE) { session, _, _, incoming, _ in
            if incoming != 0, let arrivals = gnutls_session_get_ptr(session) {
                Unmanaged<HandshakeArrivals>.fromOpaque(arrivals).takeUnretainedValue().arrived()
            }
            return 0
        }
    }

    /// Before this object goes: GnuTLS must not call into it afterwards.
    func remove() {
        gnutls_handshake_set_hook_function(session, Self.anyMessage, GNUTLS_HOOK_PRE, nil)
        gnutls_session_set_ptr(session, nil)
    }

    /// GNUTLS_HANDSHAKE_ANY, a macro with a cast, which Swift does not import.
    private static let anyMessage = UInt32.max
}
