@testable import NBDServer
import Synchronization

/// A plugin for the handshake's tests: it counts what negotiation opens and
/// closes, and can refuse; transmission never reaches it.
final class StubPlugin: NBDPlugin {
    let export = ExportDescription(size: 1 << 20, isReadOnly: false, description: "a stub", maximumPayload: 64 * 1024)
    let refusal: PluginError?
    private let counts = Mutex((opened: 0, closed: 0))

    init(refusing refusal: PluginError? = nil) {
        self.refusal = refusal
    }

    var opened: Int { counts.withLock { $0.opened } }
    var closed: Int { counts.withLock { $0.closed } }

    func openConnection() throws(PluginError) {
        if let refusal { throw refusal }
        counts.withLock { $0.opened += 1 }
    }

    func closeConnection() { counts.withLock { $0.closed += 1 } }

    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError) { unreachable() }
    func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) { unreachable() }
    func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) { unreachable() }
    func flush() throws(PluginError) { unreachable() }
    func cache(length: UInt32, offset: UInt64) throws(PluginError) { unreachable() }
    func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent] { unreachable() }
    func shutdown(patience: Duration) -> PluginError? { nil }

    private func unreachable() -> Never { preconditionFailure("negotiation serves no requests") }
}
