import Glibc
import NBDServer
import Synchronization

/// The faults a broken streaming server might have, each one a way the
/// conformance gate must fail. Chosen by the NBD_FAULT environment variable.
enum Fault: String, CaseIterable {
    /// The first write longer than one byte loses its last byte.
    case dropByte = "drop-byte"
    /// Forward gaps are skipped instead of zero-filled.
    case skipZeroFill = "skip-zero-fill"
    /// Backward writes succeed silently (and are dropped).
    case acceptBackwardWrite = "accept-backward-write"
    /// A backward write fails, but the stream carries on as if nothing happened.
    case forgetErrorState = "forget-error-state"
    /// The export is advertised one byte larger than the stream accepts.
    case lieAboutSize = "lie-about-size"
    /// Unknown options are answered by hanging up (a server fault, not a
    /// plugin one: `FaultyChannel` commits it on the wire).
    case disconnectOnUnknownOption = "disconnect-on-unknown-option"
    /// FLUSH never returns.
    case neverAnswerFlush = "never-answer-flush"
    /// `--tls=require` serves as `--tls=on`: options are answered in plaintext
    /// and EXPORT_NAME enters transmission without TLS.
    case plaintextUnderRequire = "plaintext-under-require"
    /// Structured replies are on inside TLS as if negotiated before STARTTLS.
    case keepPreTLSState = "keep-pre-tls-state"
    /// A second STARTTLS is acknowledged instead of refused.
    case acceptSecondStartTLS = "accept-second-starttls"
    /// Plaintext that came behind NBD_OPT_STARTTLS is read as the first
    /// input inside TLS (the STARTTLS command injection of other protocols).
    case actOnPlaintextBehindStartTLS = "act-on-plaintext-behind-starttls"
    /// The whole server exits when a client's TLS handshake fails.
    case exitAfterFailedHandshake = "exit-after-failed-handshake"
}

/// Wraps the real plugin and misbehaves in one chosen way; everything else
/// passes through. The faults act on data in memory, so this build always
/// takes the copying path (it is not a `ZeroCopyPlugin`). It keeps its own
/// view of the client's offsets so that the real plugin underneath still
/// sees a stream it accepts.
final class FaultyPlugin: NBDPlugin {
    private let inner: any NBDPlugin
    private let fault: Fault
    private let state = Mutex(State())

    private struct State {
        /// End of what the client has written, in its own offsets.
        var clientHighwater: UInt64 = 0
        /// Bytes of client offset the inner stream never saw (skipped gaps).
        var skipped: UInt64 = 0
        var droppedByte = false
    }

    init(wrapping inner: any NBDPlugin, fault: Fault) {
        self.inner = inner
        self.fault = fault
    }

    var export: ExportDescription {
        var export = inner.export
        if fault == .lieAboutSize { export.size += 1 }
        return export
    }

    func openConnection() throws(PluginError) { try inner.openConnection() }
    func closeConnection() { inner.closeConnection() }
    func cache(length: UInt32, offset: UInt64) throws(PluginError) { try inner.cache(length: length, offset: offset) }
    func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent] { try inner.extents(length: length, offset: offset) }
    func shutdown(patience: Duration) -> PluginError? { inner.shutdown(patience: patience) }

    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError) {
        try inner.read(into: buffer, offset: try innerOffset(offset, length: UInt64(buffer.count)))
    }

    func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError) {
        guard let target = try writeTarget(offset, length: UInt64(data.count)) else { return }
        let dropLast = fault == .dropByte && data.count > 1 && state.withLock { state in
            defer { state.droppedByte = true }
            return !state.droppedByte
        }
        try inner.write(dropLast ? UnsafeRawBufferPointer(rebasing: data.dropLast()) : data, offset: target, fua: fua)
    }

    func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError) {
        guard let target = try writeTarget(offset, length: UInt64(length)) else { return }
        try inner.writeZeroes(length: length, offset: target, fua: fua)
    }

    func flush() throws(PluginError) {
        if fault == .neverAnswerFlush {
            while true { pause() }
        }
        try inner.flush()
    }

    /// Where a write lands in the inner stream, or nil when the fault swallows it.
    private func writeTarget(_ offset: UInt64, length: UInt64) throws(PluginError) -> UInt64? {
        try state.withLock { state throws(PluginError) -> UInt64? in
            if offset < state.clientHighwater {
                switch fault {
                case .acceptBackwardWrite: return nil
                case .forgetErrorState: throw PluginError(.ioError, "injected fault: backward write refused, error state forgotten")
                default: break
                }
            }
            if fault == .skipZeroFill && offset > state.clientHighwater {
                state.skipped += offset - state.clientHighwater
            }
            state.clientHighwater = max(state.clientHighwater, offset + length)
            return offset - min(offset, state.skipped)
        }
    }

    private func innerOffset(_ offset: UInt64, length: UInt64) throws(PluginError) -> UInt64 {
        if fault == .lieAboutSize && offset + length > inner.export.size {
            throw PluginError(.noSpace, "injected fault: beyond the real size")
        }
        return state.withLock { offset - min(offset, $0.skipped) }
    }
}
