import NBDClient

/// A WRITE over the advertised maximum payload, where the spec permits two answers: a clean refusal (the stream
/// untouched) or, from a server that does not enforce its maximum, the write done (its bytes streamed exactly).
/// Either is judged against what the pipe carried; the reply and the pipe must agree.
extension CaseContext {
    func runOversizedWriteProbe(after prefix: [StreamRequest], offset: UInt64, length: UInt64) throws {
        guard let freshServer, let pipePath, mode == .write else {
            throw CaseSkip("the stream's length depends on the server's answer, so the case needs a fresh write-mode server")
        }
        var planner = StreamModel(mode: .write, exportSize: exportSize, maximumPayload: .max)
        let outcomes = prefix.map { ($0, planner.apply($0)) }
        let refusedLength = planner.stream.length
        let probe = StreamRequest.write(offset: offset, length: length, fua: false)
        _ = planner.apply(probe)
        planner.lastConnectionClosed()
        // The verifier expects the longer stream; a refusal shows as exactly the shorter one, ended early.
        let verifier = PipeVerifier(end: .own(pipePath), expected: planner.stream, pattern: pattern, ending: .endOfFile)
        verifier.start()
        let sending = Result { () throws -> (discrepancies: [WorkloadRunner.Discrepancy], refusal: NBDError?) in
            let connection = try connect()
            let discrepancies = try expectSuccess("sending the workload") {
                try WorkloadRunner(connection: connection, pattern: pattern, depth: 1, strict: strict).run(outcomes)
            }
            try? connection.shutdown()
            let prober = try connect()
            defer { try? prober.shutdown() }
            let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 8)
            defer { payload.deallocate() }
            pattern.fill(payload, streamOffset: offset)
            do {
                try prober.pwrite(UnsafeRawBufferPointer(payload), offset: offset)
                return (discrepancies, nil)
            } catch let error as NBDError {
                return (discrepancies, error)
            }
        }
        freshServer.stop()
        verifier.releaseOpen(within: 30)
        let verdict = verifier.result(within: 30)
        let (discrepancies, refusal) = try sending.get()
        if let first = discrepancies.first {
            throw CaseFailure("\(first)", details: discrepancies.map(\.description).joined(separator: "\n"), kind: .wrongReply)
        }
        guard let verdict else { throw CaseFailure("the pipe was not read to its end within 30 s", kind: .streamMismatch) }
        let request = "WRITE offset=\(offset) length=\(length)"
        switch (refusal, verdict) {
        case (nil, .matched):
            note("the \(request) over the maximum was accepted and streamed exactly")
        case (let error?, .endedEarly(let received, _)) where received == refusedLength:
            note("the \(request) over the maximum was refused: \(error.message)")
        case (let error?, _):
            throw CaseFailure("the refused \(request) changed the stream", details: "refusal: \(error)\n\(verdict.problem ?? "the stream carries its bytes")",
                              kind: .streamMismatch)
        case (nil, _):
            throw CaseFailure("the accepted \(request) did not reach the stream exactly", details: verdict.problem ?? "", kind: .streamMismatch)
        }
    }
}
