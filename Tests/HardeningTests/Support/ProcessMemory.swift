import Foundation
import TestSupport

/// Memory of a running process as the kernel accounts it, from
/// /proc/PID/status: what is resident now and the most it ever was.
struct ProcessMemory {
    let residentKiB: Int
    let peakResidentKiB: Int

    init(pid: pid_t) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                  let value = Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "")
            else { throw TestFailure("no \(name) in /proc/\(pid)/status") }
            return value
        }
        residentKiB = try field("VmRSS")
        peakResidentKiB = try field("VmHWM")
    }
}
