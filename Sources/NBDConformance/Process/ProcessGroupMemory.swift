import Foundation

/// The largest resident set (VmHWM) any process of a process group has reached, read from /proc, to check
/// that a server streams gigabytes in constant memory.
enum ProcessGroupMemory {
    static func peakResidentBytes(group: pid_t) -> UInt64 {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { processGroup(of: $0) == group }.map(peakResident(of:)).max() ?? 0
    }

    private static func processGroup(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come state, ppid, pgrp; comm may contain spaces, hence the last ')'.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? pid_t(fields[2]) : nil
    }

    private static func peakResident(of pid: pid_t) -> UInt64 {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib * 1024
    }
}
