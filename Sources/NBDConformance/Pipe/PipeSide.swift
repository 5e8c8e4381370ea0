/// The harness's end of a case's pipe: a verifier reading a write-mode server's output, a feeder writing a
/// read-mode server's input, or nothing when no bytes are due.
enum PipeSide {
    case verifier(PipeVerifier)
    case feeder(PipeFeeder)
    case none

    /// `endOfFile`: the model expects a read to find the pipe's end, so a target's shared end is closed after the
    /// segment is fed (which ends the target's stream).
    static func start(for context: CaseContext, stream: ExpectedStream, pipeLength: UInt64?, endOfFile: Bool) throws -> PipeSide {
        guard let pipePath = context.pipePath else {
            // Against a target without --pipe only the replies can be judged, which is not enough for a stream case.
            throw CaseSkip("needs --pipe to see the stream")
        }
        if let reason = context.freshServer?.pipeUnreachable { throw CaseSkip(reason) }
        let origin = context.streamPosition
        let pipeEnd: PipeEnd = context.sharedPipe.map { .shared($0) } ?? .own(pipePath)
        switch context.mode {
        case .write:
            // A target's pipe stays open after its stream, so there is no end of file to wait for when no bytes are due.
            guard context.isFreshServer || stream.length > origin else { return .none }
            let verifier = PipeVerifier(end: pipeEnd, expected: stream, origin: origin, pattern: context.pattern,
                                        ending: context.isFreshServer ? .endOfFile : .knownLength)
            verifier.start()
            return .verifier(verifier)
        case .read:
            // A shared stream gets exactly the bytes its reads consume, or the next segment would start misplaced;
            // a fresh server gets `pipeLength`, and sees end of file when the feeder closes.
            let last = context.sharedPipe != nil && !endOfFile ? stream.length : pipeLength ?? stream.length
            // No bytes due: nothing to feed (opening a fresh server's FIFO would only end its stream).
            guard last > origin else {
                if endOfFile { context.sharedPipe?.close() }
                return .none
            }
            let keeper = context.freshServer?.pipeKeeper
            let feeder = PipeFeeder(end: pipeEnd, range: origin ..< last, pattern: context.pattern,
                                    afterOpen: { keeper?.releaseWriter() }, closeShared: endOfFile)
            feeder.start()
            return .feeder(feeder)
        }
    }

    /// Ends the stream (stopping a fresh server so the pipe reaches end of file) and returns what the pipe side found.
    func finish(stopping server: FreshServer?) -> String? {
        if let server {
            server.stop()
            // A server that never opened its pipe, or a verifier that reaches open() only now, would leave the
            // verifier blocked there; with the server gone it is let through to report what it (did not) see.
            if case .verifier(let verifier) = self { verifier.releaseOpen(within: 30) }
            server.pipeKeeper?.release()
        }
        switch self {
        case .verifier(let verifier):
            guard let verdict = verifier.result(within: 30) else { return "the pipe was not read to its end within 30 s" }
            return verdict.problem
        case .feeder(let feeder):
            return feeder.problem(within: 10)
        case .none:
            return nil
        }
    }
}
