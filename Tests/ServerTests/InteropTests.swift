import Foundation
import NBDClient
import Testing

/// Real clients through `--run`, as users stream disk images: qemu-img,
/// nbdcopy and nbdinfo, in both directions, compared byte for byte.
@Suite struct InteropTests {
    let directory: TestDirectory
    let image: String
    let data = testPattern(count: 16 << 20)

    init() throws {
        directory = try TestDirectory()
        image = try directory.write(data, to: "input.raw")
    }

    /// Runs `nbd-streaming -U - PARAMETERS --run CLIENT` to its end.
    func captive(_ parameters: [String], client: String) throws -> CommandResult {
        try run(ServerProcess.binary, ["-U", "-"] + parameters + ["--run", client], seconds: 120)
    }

    func writeThrough(client: String) throws -> [UInt8] {
        let pipe = try directory.makeFIFO("out")
        let reader = try PipeReader(path: pipe)
        let result = try captive(["write=\(pipe)", "size=\(data.count)"], client: client)
        #expect(result.status == 0, "\(result.output)")
        return try reader.contents()
    }

    func readThrough(client: String, output: String) throws -> [UInt8]? {
        let pipe = try directory.makeFIFO("in")
        let writer = PipeWriter(path: pipe, bytes: data)
        let result = try captive(["read=\(pipe)", "size=\(data.count)"], client: client)
        #expect(result.status == 0, "\(result.output)")
        #expect(writer.finished())
        return directory.contents(of: output)
    }

    @Test func qemuImgConvertWritesThePipe() throws {
        // The first example of the man page, with nbd-streaming in place of nbdkit streaming.
        #expect(try writeThrough(client: "qemu-img convert -n -f raw \(image) -O raw $nbd") == data)
    }

    @Test func qemuImgConvertReadsThePipe() throws {
        // The second example: the pipe becomes a qcow2 image, which qemu-img then compares.
        let pipe = try directory.makeFIFO("in")
        let writer = PipeWriter(path: pipe, bytes: data)
        let qcow2 = directory.file("output.qcow2")
        let result = try captive(["read=\(pipe)", "size=\(data.count)"], client: "qemu-img convert -f raw $nbd -O qcow2 \(qcow2)")
        #expect(result.status == 0, "\(result.output)")
        #expect(writer.finished())
        let compare = try run("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", image, qcow2])
        #expect(compare.status == 0, "\(compare.output)")
    }

    @Test func nbdcopyWritesThePipe() throws {
        #expect(try writeThrough(client: "nbdcopy \(image) \"$uri\"") == data)
    }

    @Test func nbdcopyReadsThePipe() throws {
        let output = directory.file("copy.raw")
        #expect(try readThrough(client: "nbdcopy \"$uri\" \(output)", output: "copy.raw") == data)
    }

    @Test func nbdinfoSeesTheExportAsAdvertised() throws {
        // nbdinfo reads the first sectors to guess the content, so the pipe needs a writer.
        let pipe = try directory.makeFIFO("in")
        let writer = PipeWriter(path: pipe, bytes: Array(data[..<(1 << 20)]))
        let result = try captive(["read=\(pipe)", "size=1G"], client: "nbdinfo --json \"$uri\"")
        #expect(writer.finished())
        #expect(result.status == 0, "\(result.output)")
        let json = try #require(result.output.firstIndex(of: "{").map { String(result.output[$0...]) })
        let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let export = try #require((info?["exports"] as? [[String: Any]])?.first)
        #expect(export["export-size"] as? Int == 1 << 30)
        #expect(export["is_read_only"] as? Bool == true)
        #expect(export["block_size_minimum"] as? Int == 1)
        #expect(export["block_size_maximum"] as? Int == 32 << 20)
        #expect(export["contexts"] as? [String] == ["base:allocation"])
    }
}
