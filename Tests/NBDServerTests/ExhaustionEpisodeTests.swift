@testable import NBDServer
import SystemPackage
import Testing

/// The accept loop's back-off: logged once at each end, counted in between,
/// and never a retry without a wait.
@Suite struct ExhaustionEpisodeTests {
    @Test func theWaitDoublesUpToASecondAndProgressStartsItOver() {
        var episode = ExhaustionEpisode(.accept, failedWith: .tooManyOpenFiles)
        var delays = [episode.retryDelay]
        for _ in 0..<9 {
            episode.failedAgain(.accept, with: .tooManyOpenFiles, afterProgress: false)
            delays.append(episode.retryDelay)
        }
        #expect(delays == [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000].map { Duration.milliseconds($0) })
        episode.failedAgain(.accept, with: .noMemory, afterProgress: true)
        #expect(episode.retryDelay == .milliseconds(10))
        #expect(episode.failures == 11)
    }

    @Test func itsEndCountsTheFailuresAndNamesTheLast() {
        let start = ContinuousClock.now
        var episode = ExhaustionEpisode(.accept, failedWith: .tooManyOpenFiles, at: start)
        #expect(episode.startMessage.hasPrefix("accept: Too many open files:"))
        episode.failedAgain(.accept, with: .noBufferSpace, afterProgress: false)
        #expect(episode.endMessage(at: start + .milliseconds(2345))
            == "accept works again after 2.3 s; 2 failures meanwhile (the last: No buffer space available)")
        episode.failedAgain(.poll, with: .invalidArgument, afterProgress: false)
        #expect(episode.endMessage(at: start + .seconds(3)).hasSuffix("3 failures meanwhile (the last: poll: Invalid argument)"))
    }
}
