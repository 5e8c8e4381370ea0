@testable import StreamingPlugin
import Testing

@Suite struct StreamingConfigurationTests {
    @Test func writeWithDefaultSizeAndAbsolutePath() throws {
        let configuration = try StreamingConfiguration.parse(["write=out/pipe"], currentDirectory: "/work")
        #expect(configuration == StreamingConfiguration(mode: .write, path: "/work/out/pipe", size: 9_223_372_035_781_033_984))
    }

    @Test func readWithSizeAndAbsolutePathKept() throws {
        let configuration = try StreamingConfiguration.parse(["size=1M", "read=/dev/stdin"], currentDirectory: "/")
        #expect(configuration == StreamingConfiguration(mode: .read, path: "/dev/stdin", size: 1 << 20))
    }

    @Test func pipeIsTheOlderSpellingOfWrite() throws {
        #expect(try StreamingConfiguration.parse(["pipe=p"], currentDirectory: "/d").mode == .write)
    }

    @Test func valuesMayContainEqualsSigns() throws {
        #expect(try StreamingConfiguration.parse(["write=a=b"], currentDirectory: "/d").path == "/d/a=b")
    }

    @Test(arguments: [
        (["read=a", "write=b"], "exactly one of read= or write= is allowed"),
        (["write=a", "write=b"], "exactly one of read= or write= is allowed"),
        ([], "you must supply either read=<PIPE> or write=<PIPE>"),
        (["size=1"], "you must supply either read=<PIPE> or write=<PIPE>"),
        (["write=a", "colour=blue"], "unknown parameter 'colour'"),
        (["write="], "write= needs a path"),
        (["streaming"], "expected key=value, got 'streaming'"),
    ])
    func invalidParameterSetsAreRefused(parameters: [String], message: String) {
        #expect(throws: StreamingConfiguration.Invalid(description: message)) {
            try StreamingConfiguration.parse(parameters, currentDirectory: "/")
        }
    }
}
