import NBDClient

/// Runs phases of requests against the case's server, checks every reply against the stream model and the
/// pipe against the stream the model predicts.
extension CaseContext {
    /// Runs `phases` of requests, each on a new connection, placed after `streamPosition` (0 on a fresh server, where
    /// the previous segment ended on a target), with `depth` requests in flight; checks every reply
    /// against the stream model and, in write mode, every byte of the pipe. `pipeLength` is how much a read-mode
    /// server is fed (default: exactly what the reads consume). With `memoryLimit`, a server whose processes grew
    /// past it fails the case.
    /// `whileServing` runs after the requests but before a fresh server is stopped, for checks that need it alive.
    /// With `concurrent`, every phase's connection is opened before the first request and all stay open to the end,
    /// so several connections share the stream at once (what multi-conn promises).
    /// Requests longer than the advertised maximum payload go as pieces within it, unless `splittingZeroes` is false:
    /// then WRITE_ZEROES go whole, for the case that checks how a server answers an effect longer than the maximum.
    func runStream(_ phases: [[StreamRequest]], depth: Int = 1, pipeLength: UInt64? = nil, memoryLimit: UInt64? = nil,
                   concurrent: Bool = false, splittingZeroes: Bool = true, whileServing: () throws -> Void = {}) throws {
        let shift = streamPosition
        // Nil when the server cannot be asked (a target already in its error state): the defaults then apply.
        let advertised = try? advertised()
        // What the model holds requests to: the advertised maximum, else the default a server SHOULD support.
        let maximumPayload = advertised.flatMap { $0.maximumPayload == 0 ? nil : $0.maximumPayload } ?? StreamModel.defaultMaximumPayload
        let limit = advertised?.requestLimit ?? StreamModel.defaultMaximumPayload
        let placed = phases.map { requests in
            requests.flatMap { request -> [StreamRequest] in
                let moved = request.shifted(by: shift)
                if case .zero = moved, !splittingZeroes { return [moved] }
                return moved.split(within: limit)
            }
        }
        try requireAligned(placed.joined(), to: advertised?.minimumBlock ?? 0)
        let pipeEnd = pipeLength.map { $0 + shift }
        let plannedPhases = plan(placed, pipeLength: pipeEnd, maximumPayload: maximumPayload, concurrent: concurrent)
        let pipeSide = try PipeSide.start(for: self, stream: plannedPhases.stream, pipeLength: pipeEnd,
                                          endOfFile: plannedPhases.readsPastPipeEnd)

        // Whatever happens to the requests, the pipe side is finished, so no verifier or feeder thread is left behind.
        let sending = Result { () throws -> [WorkloadRunner.Discrepancy] in
            var discrepancies: [WorkloadRunner.Discrepancy] = []
            let shared = concurrent ? try plannedPhases.requests.map { _ in try connect() } : []
            for (index, requests) in plannedPhases.requests.enumerated() {
                let connection = concurrent ? shared[index] : try connect()
                discrepancies += try expectSuccess("sending the workload") {
                    try WorkloadRunner(connection: connection, pattern: pattern, depth: depth, strict: strict).run(requests)
                }
                if !concurrent { try? connection.shutdown() }
            }
            shared.forEach { try? $0.shutdown() }
            return discrepancies
        }
        let peakMemory = freshServer?.peakMemory()
        let servingResult = sending.flatMap { _ in Result { try whileServing() } }
        let pipeProblem = pipeSide.finish(stopping: freshServer)
        try reportStream(discrepancies: try sending.get(), pipeProblem: pipeProblem)
        try servingResult.get()
        if let memoryLimit, let peakMemory {
            try expect(peakMemory <= memoryLimit, "the server's memory grew with the stream",
                       expected: "peak resident set <= \(memoryLimit >> 20) MiB", actual: "\(peakMemory >> 20) MiB")
        }
    }

    /// Requests are sent only within the advertised minimum block size; a case whose requests are not aligned to it
    /// does not apply.
    private func requireAligned<Requests: Sequence<StreamRequest>>(_ requests: Requests, to minimum: UInt64) throws {
        guard minimum > 1, let unaligned = requests.first(where: { !$0.isAligned(to: minimum) }) else { return }
        throw CaseSkip("the server advertises a minimum block size of \(minimum); the case sends \(unaligned)")
    }

    /// Each request with the outcome the model predicts, and the stream they make.
    private func plan(_ phases: [[StreamRequest]], pipeLength: UInt64?, maximumPayload: UInt64, concurrent: Bool)
        -> (requests: [[(StreamRequest, ExpectedOutcome)]], stream: ExpectedStream, readsPastPipeEnd: Bool) {
        var planner = StreamModel(mode: mode, exportSize: exportSize, maximumPayload: maximumPayload, pipeLength: pipeLength ?? .max,
                                  windows: windows)
        // The model starts where the stream stands, so a target that already streamed is planned correctly.
        planner.assumeStreamed(upTo: streamPosition)
        let requests = phases.map { requests in
            defer { if !concurrent { planner.lastConnectionClosed() } }
            return requests.map { ($0, planner.apply($0)) }
        }
        if concurrent { planner.lastConnectionClosed() }
        recordStreamEnd(planner.highwater)
        return (requests, planner.stream, planner.readsPastPipeEnd)
    }

    private func reportStream(discrepancies: [WorkloadRunner.Discrepancy], pipeProblem: String?) throws {
        guard !discrepancies.isEmpty || pipeProblem != nil else { return }
        var details = discrepancies.prefix(10).map(\.description)
        if discrepancies.count > 10 { details.append("… and \(discrepancies.count - 10) more") }
        if let pipeProblem { details.append(pipeProblem) }
        details.append("seed \(seed)")
        let message = discrepancies.first.map { "\($0)" } ?? pipeProblem!.split(separator: "\n").first.map(String.init)!
        throw CaseFailure(message, details: details.joined(separator: "\n"), kind: discrepancies.isEmpty ? .streamMismatch : .wrongReply)
    }
}
