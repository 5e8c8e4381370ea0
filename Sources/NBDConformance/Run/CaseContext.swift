import NBDClient
import Synchronization

/// What a case body works with: the server it runs against and the seed of its bytes. Connecting lives in
/// CaseContext+Connections, streaming in StreamRun, and cancelling in CaseInterruption.
public final class CaseContext: Sendable {
    let endpoint: NBDEndpoint
    let pipePath: String?
    let mode: StreamMode
    /// The `size=` the server was started with, which negotiation must report; nil against a target.
    let configuredSize: UInt64?
    /// The size requests are planned against: the configured one, or what the target advertised when probed.
    let exportSize: UInt64
    /// Where the stream stands when the case starts: 0 on a fresh server, after the earlier cases on a target.
    let streamPosition: UInt64
    let pattern: StreamPattern
    let seed: UInt64
    /// The windows the server was started with, which the stream model must know.
    let windows: StreamWindows
    /// `--strict`: the errnos the spec only recommends are checked too.
    let strict: Bool
    /// The credentials the harness's clients present when the server requires TLS; nil when it does not.
    let tls: TLSSetup?
    let interruption: CaseInterruption
    /// The server the harness started for this case; nil against a target.
    let freshServer: FreshServer?
    /// Against a target: the pipe end the harness holds for the whole run, shared by every segment.
    let sharedPipe: SharedPipe?
    /// Against a target: an earlier case already ended the stream (error state or end of file).
    let streamEnded: Bool
    /// Where the stream stands after `runStream`, so a target's later cases know the highwater.
    private let streamEnd = Mutex<UInt64>(0)
    /// What an informational (MAY) case observed, reported with its pass.
    private let notes = Mutex<[String]>([])

    init(endpoint: NBDEndpoint, pipePath: String?, mode: StreamMode, configuredSize: UInt64?, exportSize: UInt64, streamPosition: UInt64,
         seed: UInt64, strict: Bool, windows: StreamWindows = .none, freshServer: FreshServer?, sharedPipe: SharedPipe? = nil,
         streamEnded: Bool = false, tls: TLSSetup? = nil) {
        self.strict = strict
        self.tls = tls
        self.sharedPipe = sharedPipe
        self.streamEnded = streamEnded
        self.windows = windows
        self.endpoint = endpoint
        self.pipePath = pipePath
        self.mode = mode
        self.configuredSize = configuredSize
        self.exportSize = exportSize
        self.streamPosition = streamPosition
        self.seed = seed
        self.pattern = StreamPattern(seed: seed)
        self.freshServer = freshServer
        self.interruption = CaseInterruption(pipePath: pipePath)
    }

    /// The nbdkit default: 2^63 - 2^30, the largest disk qemu accepts.
    static let defaultExportSize: UInt64 = 9_223_372_035_781_033_984

    var isFreshServer: Bool { freshServer != nil }

    /// The export's end as a case's requests see it: runStream places them after `streamPosition`.
    var segmentEnd: UInt64 { exportSize - streamPosition }
    var cancellation: Cancellation { interruption.cancellation }

    var finalStreamPosition: UInt64 { max(streamEnd.withLock { $0 }, streamPosition) }

    /// Records what the server chose where the spec lets it choose; shown as the passed case's message.
    func note(_ observation: String) {
        notes.withLock { $0.append(observation) }
    }

    var observations: String? {
        let all = notes.withLock { $0 }
        return all.isEmpty ? nil : all.joined(separator: "; ")
    }

    func recordStreamEnd(_ position: UInt64) {
        streamEnd.withLock { $0 = position }
    }
}

/// The controls of a server the harness started for one case.
struct FreshServer: Sendable {
    /// Stops the server gracefully so its pipe reaches end of file.
    let stop: @Sendable () -> Void
    /// The harness's hold on a read-mode FIFO, released when the stream is finished.
    let pipeKeeper: PipeKeeper?
    /// The server's peak resident memory so far.
    let peakMemory: @Sendable () -> UInt64
    /// Why the server cannot stream to the case's pipe, if it cannot (its template never names the pipe).
    var pipeUnreachable: String? = nil
}
