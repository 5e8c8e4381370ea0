import Foundation
import NBDConformance

extension NBDConformanceCommand {
    /// Our server, preferably the one built next to this binary, so a fresh checkout needs no PATH set-up.
    static func defaultTemplate() -> String {
        let ownPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let sibling = URL(fileURLWithPath: ownPath).deletingLastPathComponent().appendingPathComponent("nbd-streaming").path
        guard FileManager.default.isExecutableFile(atPath: sibling) else { return RunConfiguration.defaultTemplate }
        return RunConfiguration.defaultTemplate.replacingOccurrences(of: "nbd-streaming", with: "'\(sibling)'")
    }
}
