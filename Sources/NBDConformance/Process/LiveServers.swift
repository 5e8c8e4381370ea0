import Dispatch
import Foundation
import Glibc
import Synchronization

/// Every server process group the harness has started and not yet stopped, and every case directory not yet
/// removed. Servers run in groups of their own, so a Ctrl-C on the harness does not reach them; the interrupt
/// handler ends them and removes the directories through this list.
public enum LiveServers {
    private static let live = Mutex(Live())
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

    static func add(_ group: pid_t) { live.withLock { _ = $0.groups.insert(group) } }
    static func remove(_ group: pid_t) { live.withLock { _ = $0.groups.remove(group) } }
    static func add(directory: String) { live.withLock { _ = $0.directories.insert(directory) } }
    static func remove(directory: String) { live.withLock { _ = $0.directories.remove(directory) } }

    /// On SIGINT or SIGTERM: kill every live server group, then exit 2 (the run did not complete).
    /// Called once, by the executable, before the run starts.
    public static func stopAllOnInterrupt() {
        signalSources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                live.withLock { live in
                    live.groups.forEach { kill(-$0, SIGKILL) }
                    live.directories.forEach { try? FileManager.default.removeItem(atPath: $0) }
                }
                FileHandle.standardError.write(Data("nbd-conformance: interrupted; servers stopped\n".utf8))
                exit(2)
            }
            source.resume()
            return source
        }
    }

    private struct Live {
        var groups: Set<pid_t> = []
        var directories: Set<String> = []
    }
}
