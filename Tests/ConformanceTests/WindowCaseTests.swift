import Foundation
import Testing
@testable import NBDConformance

extension ServerRuns {
    /// The `--windows` cases: they pass against nbd-streaming started with its windows, and fail, case by case,
    /// against the same server when the window parameters are taken out of `$ARGS`.
    @Suite(.serialized)
    struct WindowCaseTests {
        static let windowCases = Catalog.cases(for: .streaming).filter { $0.group == "windows" }.map(\.id)

        @Test func windowCasesPassWithTheWindows() throws {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let run = try InProcessRun.run({
                $0.windows = true
                $0.jobs = 2
                $0.filters = ["windows/*"]
            }, deployment: .serverTemplate("'\(server)' -f -U $SOCKET $ARGS"))
            #expect(run.ids(with: .passed).sorted() == Self.windowCases.sorted(), "\(run.console)")
            #expect(run.status == 0)
        }

        @Test func windowCasesAreNotInTheDefaultCatalog() throws {
            let selection = try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: [], excludes: [], strict: true, long: true)
            #expect(!selection.entries.contains { $0.testCase.group == "windows" })
            #expect(throws: UsageError.self) {
                try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: ["windows/*"], excludes: [], strict: false, long: false)
            }
        }

        /// Without its window the server is plain nbdkit streaming: every case that relies on the window fails.
        @Test func windowCasesFailWithoutTheWindows() throws {
            let server = try BuiltProducts.require(BuiltProducts.streamingServer)
            let stripped = "'\(server)' -f -U $SOCKET $(echo \"$ARGS\" | sed 's/ reorder=[0-9]*//; s/ retain=[0-9]*//')"
            let run = try InProcessRun.run({
                $0.windows = true
                $0.jobs = 2
                $0.filters = ["windows/*"]
            }, deployment: .serverTemplate(stripped))
            #expect(run.status == 1)
            #expect(run.ids(with: .error).isEmpty, "\(run.console)")
            // The full-window and beyond-the-window cases end in the error state either way; every other case needs
            // its window to pass.
            let needWindow = Self.windowCases.filter { !$0.hasSuffix("full-window-fills-oldest-gap") && !$0.hasSuffix("beyond-the-window-fail") }
            #expect(Set(run.ids(with: .failed)).isSuperset(of: needWindow), "\(run.console)")
        }
    }
}
