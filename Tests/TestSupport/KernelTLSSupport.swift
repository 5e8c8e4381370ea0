import Foundation

/// Whether GnuTLS hands a TCP session's records to the kernel (kTLS), read
/// from the system rather than from the code under test: GnuTLS 3.7 (built
/// with kTLS, as Debian's is) tries it only when its system-wide
/// configuration says `ktls = true` in `[global]`, and the kernel accepts it
/// only when it offers the `tls` upper-layer protocol. Never on a Unix socket.
public enum KernelTLSSupport {
    /// Both conditions: a TCP session should come out of the handshake with kTLS on.
    public static var expected: Bool { offeredByKernel && enabledInGnuTLSConfiguration }

    /// The `tls` upper-layer protocol is listed in /proc/sys/net/ipv4/tcp_available_ulp (after `modprobe tls`).
    public static var offeredByKernel: Bool {
        let upperLayers = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_available_ulp", encoding: .utf8)) ?? ""
        return upperLayers.split(whereSeparator: \.isWhitespace).contains("tls")
    }

    /// GnuTLS's system-wide configuration: $GNUTLS_SYSTEM_PRIORITY_FILE, or
    /// Debian's /etc/gnutls/config (gnutls_get_system_config_file).
    public static var configurationFile: String {
        ProcessInfo.processInfo.environment["GNUTLS_SYSTEM_PRIORITY_FILE"] ?? "/etc/gnutls/config"
    }

    /// `ktls = true` in the file's `[global]` section (names and values case-insensitive, as GnuTLS reads them).
    public static var enabledInGnuTLSConfiguration: Bool {
        guard let text = try? String(contentsOfFile: configurationFile, encoding: .utf8) else { return false }
        var section = ""
        var enabled = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).lowercased()
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            // GnuTLS 3.7 knows only "true"; any other value leaves kTLS as it was.
            if section == "global", parts.count == 2, parts[0] == "ktls", parts[1] == "true" { enabled = true }
        }
        return enabled
    }
}
