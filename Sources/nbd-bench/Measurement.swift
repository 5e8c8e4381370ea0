import Foundation
import Glibc

/// Seconds on the monotonic clock, so a wall-clock adjustment cannot distort a measurement.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// The one machine-readable line every subcommand prints; bench/run.py parses it as key=value pairs.
/// `seconds` times the transfer; an NBD client also gives the time its connection and handshake took.
func report(_ operation: String, bytes: Int, seconds: Double, requests: Int, connectSeconds: Double? = nil) {
    let mebibytes = Double(bytes) / Double(1 << 20)
    let throughput = seconds > 0 ? mebibytes / seconds : 0
    let rate = seconds > 0 ? Double(requests) / seconds : 0
    let connect = connectSeconds.map { String(format: " connect_seconds=%.6f", $0) } ?? ""
    print(String(format: "%@ bytes=%ld seconds=%.6f requests=%ld mib_per_s=%.1f requests_per_s=%.1f",
                 operation, bytes, seconds, requests, throughput, rate) + connect)
}

/// A failure of a system call, with the call named so the driver's log says what broke.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let code: Int32

    init(_ call: String, code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    var description: String { "\(call): \(String(cString: strerror(code)))" }
}
