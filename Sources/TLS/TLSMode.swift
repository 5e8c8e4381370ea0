/// nbdkit's `--tls=off|on|require`, resolved at start-up: the credentials
/// travel with the mode that needs them.
public enum TLSMode: Sendable {
    /// STARTTLS is refused.
    case off
    /// Clients may upgrade with STARTTLS or stay in plaintext.
    case on(TLSServerCredentials)
    /// Every option but STARTTLS and ABORT is refused until the upgrade.
    case require(TLSServerCredentials)

    public var credentials: TLSServerCredentials? {
        switch self {
        case .off: nil
        case .on(let credentials), .require(let credentials): credentials
        }
    }

    public var isRequired: Bool {
        if case .require = self { return true }
        return false
    }

    /// The value nbdkit gives `$tls` in `--run` commands: 0, 1 or 2.
    public var level: Int {
        switch self {
        case .off: 0
        case .on: 1
        case .require: 2
        }
    }
}
