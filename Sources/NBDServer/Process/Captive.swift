import Glibc
import SystemIO
import TLS

/// The `--run` command: a shell command that talks to the server through the
/// variables nbdkit's captive mode sets, and whose end ends the server.
public struct CaptiveCommand: Sendable {
    public let command: String

    public init(command: String) { self.command = command }

    /// The variables the command sees, besides the server's own environment.
    /// As nbdkit's captive mode: the URI's scheme is `nbds` only when TLS is
    /// required (a client given it insists on TLS), and `$tls` is set to 1 or
    /// 2 when TLS is on or required.
    public static func environment(for endpoint: Endpoint, exportName: String, tls: TLSMode) -> [String: String] {
        var variables = ["exportname": exportName]
        let scheme = tls.isRequired ? "nbds" : "nbd"
        switch endpoint {
        case let .unix(path):
            variables["unixsocket"] = path
            variables["uri"] = "\(scheme)+unix:///\(percentEncoded(exportName))?socket=\(percentEncoded(path))"
        case let .tcp(_, port):
            variables["port"] = String(port)
            variables["uri"] = "\(scheme)://localhost:\(port)/\(percentEncoded(exportName))"
        }
        variables["nbd"] = variables["uri"]
        if tls.level > 0 { variables["tls"] = String(tls.level) }
        return variables
    }

    /// URI components keep only unreserved characters and '/' literal.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    /// Starts `/bin/sh -c command`; returns its process id.
    func spawn(extraEnvironment: [String: String]) throws -> pid_t {
        var environment: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        environment.merge(extraEnvironment) { $1 }
        let arguments = ["/bin/sh", "-c", command].map { $0.withCString { strdup($0) } } + [nil]
        let variables = environment.map { "\($0.key)=\($0.value)".withCString { strdup($0) } } + [nil]
        defer {
            arguments.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, "/bin/sh", nil, nil, arguments, variables)
        guard status == 0 else { throw SpawnError(command: command, errno: status) }
        return pid
    }

    /// Waits for `pid`; a command killed by a signal reports 128 + the signal, as shells do.
    static func wait(for pid: pid_t) -> Int32 {
        guard let status = try? ProcessControl.waitForExit(of: pid) else { return 1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let command: String
        public let errno: Int32
        public var description: String { "cannot run '\(command)': \(String(cString: strerror(errno)))" }
    }
}
