import CGnuTLS

/// Whether the kernel encrypts a session's records (kTLS), as GnuTLS reports
/// it after the handshake. GnuTLS hands the keys to the kernel only when the
/// kernel offers the `tls` upper-layer protocol and GnuTLS's configuration
/// enables it; then a descriptor-to-socket splice carries plaintext.
public enum KernelTLS: Equatable, Sendable, CustomStringConvertible {
    case off
    case receiveOnly
    case sendOnly
    case duplex

    init(_ flags: gnutls_transport_ktls_enable_flags_t) {
        let receives = flags.rawValue & GNUTLS_KTLS_RECV.rawValue != 0
        let sends = flags.rawValue & GNUTLS_KTLS_SEND.rawValue != 0
        switch (receives, sends) {
        case (true, true): self = .duplex
        case (true, false): self = .receiveOnly
        case (false, true): self = .sendOnly
        case (false, false): self = .off
        }
    }

    public var description: String {
        switch self {
        case .off: "off"
        case .receiveOnly: "receive only"
        case .sendOnly: "send only"
        case .duplex: "send and receive"
        }
    }
}
