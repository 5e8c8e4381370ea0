/// GnuTLS priority strings, as nbdkit and libnbd build them with their default
/// `--with-tls-priority=NORMAL`: GnuTLS's secure defaults, with the PSK key
/// exchanges added when the credentials are pre-shared keys (NORMAL leaves
/// them out). Both ends use the same strings, as nbdkit and libnbd do.
enum Priorities {
    static let certificates = "NORMAL"
    static let preSharedKeys = "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
}
