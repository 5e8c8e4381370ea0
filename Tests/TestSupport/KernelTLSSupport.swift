import Foundation

/// Whether this kernel offers TLS to GnuTLS: the `tls` upper-layer protocol
/// is listed in /proc/sys/net/ipv4/tcp_available_ulp (after `modprobe tls`).
public enum KernelTLSSupport {
    public static var offered: Bool {
        let upperLayers = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_available_ulp", encoding: .utf8)) ?? ""
        return upperLayers.split(separator: " ").contains { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "tls" }
    }
}
