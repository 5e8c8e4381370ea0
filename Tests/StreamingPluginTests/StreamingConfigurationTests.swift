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

    @Test func windowsTakeSizes() throws {
        #expect(try StreamingConfiguration.parse(["write=p", "reorder=64M"], currentDirectory: "/").reorder == 64 << 20)
        let reading = try StreamingConfiguration.parse(["read=p", "retain=1G"], currentDirectory: "/")
        #expect(reading.retain == 1 << 30 && reading.hasWindow)
    }

    @Test func pipeIsTheOlderSpellingOfWrite() throws {
        #expect(try StreamingConfiguration.parse(["pipe=p"], currentDirectory: "/d").mode == .write)
    }

    @Test func leadingDotSlashIsDropped() throws {
        #expect(try StreamingConfiguration.parse(["write=./pipe"], currentDirectory: "/d/").path == "/d/pipe")
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
        (["read=a", "reorder=1M"], "reorder= applies to write mode; read mode has retain="),
        (["write=a", "retain=1M"], "retain= applies to read mode; write mode has reorder="),
        (["write=a", "reorder=1x"], "reorder=: size '1x': unknown suffix 'x'"),
    ])
    func invalidParameterSetsAreRefused(parameters: [String], message: String) {
        #expect(throws: StreamingConfiguration.Invalid(description: message)) {
            try StreamingConfiguration.parse(parameters, currentDirectory: "/")
        }
    }
}
