@testable import NBDServer
import Testing

/// The budget of each call site of the log: a burst, then a line per
/// interval, with what was left out counted and reported.
@Suite struct LogRateLimiterTests {
    let start = ContinuousClock.now
    let site = LogRateLimiter<String>.Site(file: "Server.swift", line: 10)
    let other = LogRateLimiter<String>.Site(file: "Server.swift", line: 20)

    @Test func aBurstPassesThenLinesAreCountedUntilTheNextInterval() {
        var limiter = LogRateLimiter<String>(burst: 3, interval: .seconds(10))
        let verdicts = (0..<10).map { limiter.admit("line \($0)", from: site, at: start) }
        #expect(verdicts == Array(repeating: .write(suppressedBefore: 0), count: 3) + Array(repeating: .suppress, count: 7))
        // A site that floods does not silence another.
        #expect(limiter.admit("other", from: other, at: start) == .write(suppressedBefore: 0))
        #expect(limiter.admit("line 10", from: site, at: start + .seconds(9)) == .suppress)
        #expect(limiter.admit("line 11", from: site, at: start + .seconds(10)) == .write(suppressedBefore: 8))
        #expect(limiter.admit("line 12", from: site, at: start + .seconds(10)) == .suppress)
    }

    @Test func aFloodThatStopsIsSummarizedOnceTheSiteMayWriteAgain() {
        var limiter = LogRateLimiter<String>(burst: 1, interval: .seconds(10))
        for index in 0..<5 { _ = limiter.admit("line \(index)", from: site, at: start) }
        #expect(limiter.hasSuppressedLines)
        #expect(limiter.dueSummaries(at: start + .seconds(5)).isEmpty)
        let summaries = limiter.dueSummaries(at: start + .seconds(10))
        #expect(summaries.map(\.count) == [4] && summaries.map(\.last) == ["line 4"])
        #expect(!limiter.hasSuppressedLines)
        // The summary took the site's line: the next one waits its turn.
        #expect(limiter.admit("line 5", from: site, at: start + .seconds(10)) == .suppress)
    }

    @Test func sustainedFloodingWritesOneLinePerInterval() {
        var limiter = LogRateLimiter<String>(burst: 5, interval: .seconds(10))
        var written = 0
        // 1,000 lines a second for 60 s.
        for tick in 0..<60_000 {
            if case .write = limiter.admit("flood", from: site, at: start + .milliseconds(tick)) { written += 1 }
        }
        #expect(written == 5 + 5)
    }
}
