/// GnuTLS priority strings. Clients use them as libnbd builds them with its
/// default `--with-tls-priority=NORMAL`: GnuTLS's secure defaults, with the
/// PSK key exchanges added for pre-shared keys (NORMAL leaves them out).
/// The server adds one choice of its own for PSK (docs/design.md, "TLS").
enum Priorities {
    static let certificates = "NORMAL"
    static let clientPreSharedKeys = "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
    /// The client's PSK list with ChaCha20-Poly1305 moved to the end of the
    /// ciphers and the server's order deciding: GnuTLS puts ChaCha20 first
    /// for TLS 1.3 PSK sessions, which moves about a quarter of what AES-GCM
    /// moves on a CPU with AES instructions. Clients without AES-GCM still
    /// get ChaCha20.
    static let serverPreSharedKeys = "NORMAL:-CHACHA20-POLY1305:+CHACHA20-POLY1305:+ECDHE-PSK:+DHE-PSK:+PSK:%SERVER_PRECEDENCE"
}
