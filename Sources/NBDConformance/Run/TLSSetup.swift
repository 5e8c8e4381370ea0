import Foundation
import NBDClient
import TLS

/// How a `tls` case's server treats TLS: `--tls=require` (the spec's FORCEDTLS) or `--tls=on` (clients choose).
public enum ServerTLS: String, Sendable {
    case required = "require"
    case offered = "on"
}

/// The harness's TLS credentials (`--tls-psk FILE` or `--tls-certificates DIR`, or those an nbds:// target URI
/// names): what `$TLS` gives a spawned server, and what the harness's own clients (libnbd, and the raw client's
/// TLS session) present. A certificates directory serves both sides: the server's ca-cert.pem, server-cert.pem
/// and server-key.pem, and the CA the client checks the server against (with client-cert.pem and
/// client-key.pem, if present, for servers that check clients).
public struct TLSSetup: Sendable, Equatable {
    public enum Credentials: Sendable, Equatable {
        case preSharedKeys(file: String, username: String)
        case certificates(directory: String)
    }

    public let credentials: Credentials

    /// psktool's file, and the user whose key the harness presents: `username`, or the file's first user.
    public static func preSharedKeys(file: String, username: String? = nil) throws -> TLSSetup {
        let path = try usable(file, "--tls-psk")
        let users: [String]
        do { users = try TLSClientCredentials.users(inPreSharedKeyFile: path) } catch { throw UsageError("--tls-psk: \(error)") }
        let user = username ?? users[0]
        guard users.contains(user) else { throw UsageError("--tls-psk: \(path) holds no key for user \(user)") }
        return TLSSetup(credentials: .preSharedKeys(file: path, username: user))
    }

    public static func certificates(directory: String) throws -> TLSSetup {
        TLSSetup(credentials: .certificates(directory: try usable(directory, "--tls-certificates")))
    }

    /// The credentials an nbds:// URI names for libnbd: `tls-psk-file=` with the user before the `@`, or
    /// `tls-certificates=`; nil for a URI without TLS.
    public static func named(byURI uri: String) throws -> TLSSetup? {
        guard uri.hasPrefix("nbds"), let components = URLComponents(string: uri) else { return nil }
        let query = components.queryItems ?? []
        if let file = query.first(where: { $0.name == "tls-psk-file" })?.value {
            return try preSharedKeys(file: file, username: components.user)
        }
        if let directory = query.first(where: { $0.name == "tls-certificates" })?.value {
            return try certificates(directory: directory)
        }
        throw UsageError("--target \(uri): the harness's own TLS client needs tls-psk-file= or tls-certificates= in the URI, or --tls-psk or --tls-certificates")
    }

    /// For the reports: the kind of credentials and where they come from.
    public var summary: String {
        switch credentials {
        case .preSharedKeys(let file, let username): "PSK of user \(username) from \(file)"
        case .certificates(let directory): "X.509 from \(directory)"
        }
    }

    /// What `$TLS` expands to for a server in `mode`. Like `$ARGS`, it reaches the template as a variable the
    /// shell splits at spaces, so the paths must have none.
    func serverOptions(_ mode: ServerTLS) -> String {
        switch credentials {
        case .preSharedKeys(let file, _): "--tls=\(mode.rawValue) --tls-psk=\(file)"
        case .certificates(let directory): "--tls=\(mode.rawValue) --tls-certificates=\(directory)"
        }
    }

    /// The harness's raw client's credentials.
    func clientCredentials() throws -> TLSClientCredentials {
        do {
            switch credentials {
            case .preSharedKeys(let file, let username): return try .preSharedKey(file: file, username: username)
            case .certificates(let directory): return try .certificates(directory: directory)
            }
        } catch {
            throw HarnessError("the harness's TLS credentials: \(error)")
        }
    }

    /// The same user with a key the server does not hold, for the cases that must see it refused; nil with
    /// certificates, where only a server that checks clients could refuse one.
    func wrongKeyCredentials() throws -> TLSClientCredentials? {
        guard case .preSharedKeys(_, let username) = credentials else { return nil }
        let key = (0 ..< 32).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255)) }.joined()
        do { return try .preSharedKey(username: username, hexKey: key) } catch { throw HarnessError("a wrong key: \(error)") }
    }

    /// libnbd's TLS settings for a connection to a server that requires TLS.
    func configure(_ connection: NBDConnection) throws {
        switch credentials {
        case .preSharedKeys(let file, let username): try connection.requireTLS(preSharedKeyFile: file, username: username)
        case .certificates(let directory): try connection.requireTLS(certificates: directory)
        }
    }

    /// The path made absolute (servers run in directories of their own); `$TLS` cannot carry a space.
    private static func usable(_ path: String, _ option: String) throws -> String {
        guard !path.contains(where: \.isWhitespace) else { throw UsageError("\(option) \(path): the path must not contain spaces (it reaches the server through $TLS)") }
        return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
