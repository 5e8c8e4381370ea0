import ArgumentParser
import Logging
import TLS

/// `--tls`'s values, in every spelling nbdkit accepts.
enum TLSSetting: String, ExpressibleByArgument {
    case off, on, require

    init?(argument: String) {
        switch argument.lowercased() {
        case "off", "0", "false", "f", "no", "n": self = .off
        case "on", "1", "true", "t", "yes", "y": self = .on
        case "require", "required", "force": self = .require
        default: return nil
        }
    }

    static var allValueStrings: [String] { ["off", "on", "require"] }
}

/// A start-up failure that is not about one file.
struct TLSStartupError: Error, CustomStringConvertible {
    let description: String
}

extension StreamingCommand {
    /// Resolves the TLS options as nbdkit does: TLS is on unless `--tls=off`,
    /// `--tls-psk` takes precedence over certificates, and without
    /// `--tls-certificates` nbdkit's default directories are searched. When no
    /// credentials are found, `--tls=require` is an error, an explicit
    /// `--tls=on` a warning, and otherwise TLS is silently off. Unlike nbdkit,
    /// a directory given with `--tls-certificates` that lacks a file is an error
    /// naming the file, not a reason to turn TLS off. As in nbdkit, `-s` and
    /// `-o` refuse only `--tls=require` with `-o` (StreamingCommand.validate):
    /// `-s` serves STARTTLS on standard input and output, and under `-o`,
    /// whose handshake has no STARTTLS, credentials found are simply unused.
    func tlsMode(logger: Logger) throws -> TLSMode {
        let requested = tls ?? .on
        if requested == .off { return .off }
        guard let credentials = try tlsCredentials() else {
            let searched = CertificateDirectory.defaultServerLocations()
            let places = searched.isEmpty ? "no default location ($HOME is unset)" : "none in " + searched.joined(separator: " or ")
            switch tls {
            case .require:
                throw TLSStartupError(description: "--tls=require but no TLS credentials were found (\(places)): give --tls-certificates=DIR or --tls-psk=FILE")
            case .on:
                logger.warning("--tls=on but no TLS credentials were found (\(places)): TLS is disabled and STARTTLS will be refused")
            default:
                break
            }
            return .off
        }
        return requested == .require ? .require(credentials) : .on(credentials)
    }

    private func tlsCredentials() throws -> TLSServerCredentials? {
        if let tlsPSK { return try .preSharedKeys(file: tlsPSK) }
        if let tlsCertificates { return try .certificates(directory: tlsCertificates, verifyPeer: tlsVerifyPeer) }
        guard let found = CertificateDirectory.defaultServerLocations().first(where: CertificateDirectory.holdsServerFiles) else { return nil }
        return try .certificates(directory: found, verifyPeer: tlsVerifyPeer)
    }
}

extension StreamingCommand {
    /// On TCP, a stream that clients may reach without TLS is open to anyone
    /// who can reach the port; said once, at start-up. The oldstyle handshake
    /// has no STARTTLS, so under `-o` no client can choose TLS.
    func warnAboutPlaintext(_ mode: TLSMode, logger: Logger) {
        guard case let .tcp(_, port) = listenMode else { return }
        switch oldstyle ? .off : mode {
        case .off:
            logger.warning("TCP port \(port) without TLS: anyone who can reach it can read or write the stream; --tls=require with --tls-psk or --tls-certificates keeps them out")
        case .on:
            logger.warning("--tls=on lets clients skip TLS: anyone who can reach TCP port \(port) can read or write the stream in plaintext; --tls=require keeps them out")
        case .require:
            break
        }
    }
}
