import Foundation
import NBDClient
import TestSupport
import Testing

/// Real clients through `--run`, as users stream disk images: qemu-img,
/// nbdcopy and nbdinfo, in both directions, compared byte for byte.
@Suite struct InteropTests {
    let stream: CaptiveStream
    init() throws { stream = try CaptiveStream(data: testPattern(count: 16 << 20)) }

    @Test func qemuImgConvertWritesThePipe() throws {
        // The first example of the man page, with nbd-streaming in place of nbdkit streaming.
        let (result, streamed) = try stream.write(client: "qemu-img convert -n -f raw \(stream.image) -O raw $nbd")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    @Test func qemuImgConvertReadsThePipe() throws {
        // The second example: the pipe becomes a qcow2 image, which qemu-img then compares.
        let (result, _) = try stream.read(client: "qemu-img convert -f raw $nbd -O qcow2 OUTPUT.qcow2")
        #expect(result.status == 0, "\(result.output)")
        let qcow2 = try #require(try FileManager.default.contentsOfDirectory(atPath: stream.directory.path).first { $0.hasSuffix(".qcow2") })
        let compare = try run("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", stream.image, stream.directory.file(qcow2)])
        #expect(compare.status == 0, "\(compare.output)")
    }

    @Test func nbdcopyWritesThePipe() throws {
        let (result, streamed) = try stream.write(client: "nbdcopy \(stream.image) \"$uri\"")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    @Test func nbdcopyReadsThePipe() throws {
        let (result, output) = try stream.read(client: "nbdcopy \"$uri\" OUTPUT")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(output ?? [], stream.data) == nil)
    }

    @Test func nbdinfoSeesTheExportAsAdvertised() throws {
        // nbdinfo reads the first sectors to guess the content; the pipe has data for that.
        let (result, _) = try stream.read(["size=1G"], client: "nbdinfo --json \"$uri\"")
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
