import Foundation
import Glibc
import NBDClient
import Synchronization

/// One invocation of the harness: select, run (in parallel when the cases have servers of their own), report.
public enum ConformanceRun {
    /// Runs the selection and writes the reports; returns the process exit status (0, 1 or 2).
    public static func execute(_ configuration: RunConfiguration, console: ConsoleReporter = ConsoleReporter()) -> Int32 {
        // Servers and pipes that go away must show up as EPIPE, not end the harness.
        signal(SIGPIPE, SIG_IGN)
        do {
            let selection = try CaseSelection(catalog: Catalog.cases(for: configuration.profile), filters: configuration.filters, excludes: configuration.excludes,
                                              strict: configuration.strict, long: configuration.long,
                                              windows: configuration.windows, tls: configuration.tls != nil)
            let report = try run(selection, configuration, console: console)
            console.summary(report)
            try write(report, configuration)
            return report.exitStatus
        } catch {
            console.problem("\(error)")
            return 2
        }
    }

    private static func run(_ selection: CaseSelection, _ configuration: RunConfiguration, console: ConsoleReporter) throws -> RunReport {
        let startedAt = Date()
        let properties = self.properties(configuration)
        var entries = selection.entries
        let environment: any CaseEnvironment
        var jobs = max(1, configuration.jobs)
        var target: TargetEnvironment?
        switch configuration.deployment {
        case .serverTemplate(let template):
            if configuration.tls != nil, !SpawnedServerEnvironment.mentions(template, "TLS") {
                throw UsageError("the --server template has no $TLS, so the tls group's servers would not get the TLS options")
            }
            environment = SpawnedServerEnvironment(template: template, profile: configuration.profile, strict: configuration.strict,
                                                   tls: configuration.tls)
        case .target(let endpoint, let pipe):
            let shared = try TargetEnvironment(endpoint: endpoint, pipePath: pipe, profile: configuration.profile, allowWrites: configuration.allowWrites,
                                               strict: configuration.strict, timeout: configuration.timeout, tls: configuration.tls)
            let order = shared.order(entries.map(\.testCase)).map(\.id)
            entries.sort { order.firstIndex(of: $0.testCase.id)! < order.firstIndex(of: $1.testCase.id)! }
            // One stream, so one case at a time.
            jobs = 1
            environment = shared
            target = shared
        }
        console.started(total: entries.count, properties: properties)
        let runner = CaseRunner(environment: environment, seed: configuration.seed, timeout: configuration.timeout)
        let results = ResultSlots(count: entries.count)
        let workers = (0 ..< min(jobs, entries.count)).map { _ in
            Thread { [entries, target] in
                while let index = results.claimNext() {
                    let entry = entries[index]
                    let result: CaseResult
                    if entry.isExcluded {
                        result = CaseResult(entry.testCase, status: .skipped, message: "excluded", seconds: 0)
                    } else {
                        let (ran, streamEnd) = runner.run(entry.testCase)
                        target?.finished(entry.testCase, result: ran, streamEnd: streamEnd)
                        result = ran
                    }
                    results.store(result, at: index)
                    console.finished(result, total: entries.count)
                }
                results.workerDone()
            }
        }
        workers.forEach { $0.start() }
        results.waitForWorkers(workers.count)
        target?.close()
        return RunReport(results: results.all, startedAt: startedAt, seconds: Date().timeIntervalSince(startedAt), properties: properties)
    }

    private static func properties(_ configuration: RunConfiguration) -> [RunReport.Property] {
        var list: [(String, String)] = []
        switch configuration.deployment {
        case .serverTemplate(let template): list.append(("server", template))
        case .target(let endpoint, let pipe): list += [("target", "\(endpoint)"), ("pipe", pipe ?? "")]
        }
        list += [
            ("profile", configuration.profile.rawValue), ("seed", String(configuration.seed)), ("strict", String(configuration.strict)), ("long", String(configuration.long)), ("windows", String(configuration.windows)),
            ("tls", configuration.tls?.summary ?? "off"),
            ("timeout", String(configuration.timeout)), ("libnbd", NBDConnection.libraryVersion()),
        ]
        return list.map { RunReport.Property(name: $0.0, value: $0.1) }
    }

    private static func write(_ report: RunReport, _ configuration: RunConfiguration) throws {
        if let path = configuration.junitPath {
            do {
                try JUnitReporter.xml(report).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw HarnessError("cannot write the JUnit report to \(path): \(error.localizedDescription)")
            }
        }
        if let path = configuration.jsonPath {
            do {
                try JSONReporter.json(report).write(to: URL(fileURLWithPath: path))
            } catch {
                throw HarnessError("cannot write the JSON report to \(path): \(error.localizedDescription)")
            }
        }
    }
}

/// Hands out case indices to worker threads and collects results in catalog order.
private final class ResultSlots: Sendable {
    private struct State {
        var next = 0
        var slots: [CaseResult?]
    }

    private let state: Mutex<State>
    private let workersFinished = DispatchSemaphore(value: 0)

    init(count: Int) { state = Mutex(State(slots: Array(repeating: nil, count: count))) }

    func claimNext() -> Int? {
        state.withLock { state in
            guard state.next < state.slots.count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func store(_ result: CaseResult, at index: Int) { state.withLock { $0.slots[index] = result } }

    func workerDone() { workersFinished.signal() }

    /// Every case has its own timeout, so the workers always finish; no extra bound is needed here.
    func waitForWorkers(_ count: Int) {
        for _ in 0 ..< count { workersFinished.wait() }
    }

    var all: [CaseResult] { state.withLock { $0.slots.compactMap { $0 } } }
}
