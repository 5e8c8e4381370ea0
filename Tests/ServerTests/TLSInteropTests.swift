import Foundation
import TestSupport
import Testing

/// Real clients speaking TLS through `--run`, as users stream disk images
/// between hosts: qemu-img with its tls-creds objects, nbdcopy and nbdinfo
/// with nbds+unix:// URIs, X.509 client certificates under --tls-verify-peer.
/// Keys and certificates are made per test (TLSKeys).
@Suite struct TLSInteropTests {
    let stream: CaptiveStream
    let keys: TLSKeys

    init() throws {
        stream = try CaptiveStream(data: testPattern(count: 16 << 20))
        keys = try TLSKeys()
    }

    var requirePSK: [String] { ["--tls=require", "--tls-psk=\(keys.pskFile)"] }

    /// qemu-img's target for the server's socket, with the TLS object `tls0`;
    /// over a Unix socket qemu checks the server's certificate against `hostname`.
    static func qemuTarget(hostname: String? = nil) -> String {
        "--target-image-opts \"driver=nbd,server.type=unix,server.path=$unixsocket,tls-creds=tls0\(hostname.map { ",tls-hostname=\($0)" } ?? "")\""
    }

    @Test func qemuImgConvertWritesThroughPreSharedKeys() throws {
        // qemu reads keys.psk from the object's directory.
        let object = "tls-creds-psk,id=tls0,endpoint=client,dir=\(keys.directory.path),username=\(keys.username)"
        let (result, streamed) = try stream.write(requirePSK, client: "qemu-img convert -n -f raw \(stream.image) --object \(object) \(Self.qemuTarget())")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    /// Under --tls-verify-peer qemu-img presents client-cert.pem from its directory.
    @Test func qemuImgConvertWritesThroughCertificatesWithAClientCertificate() throws {
        let object = "tls-creds-x509,id=tls0,endpoint=client,dir=\(keys.clientCertificates)"
        let parameters = ["--tls=require", "--tls-certificates=\(keys.serverCertificates)", "--tls-verify-peer"]
        let (result, streamed) = try stream.write(parameters, client: "qemu-img convert -n -f raw \(stream.image) --object \(object) \(Self.qemuTarget(hostname: "localhost"))")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(streamed, stream.data) == nil)
    }

    @Test func nbdcopyReadsThroughPreSharedKeys() throws {
        let uri = "nbds+unix://\(keys.username)@/?socket=$unixsocket&tls-psk-file=\(keys.pskFile)"
        let (result, output) = try stream.read(requirePSK, client: "nbdcopy \"\(uri)\" OUTPUT")
        #expect(result.status == 0, "\(result.output)")
        #expect(firstDifference(output ?? [], stream.data) == nil)
    }

    @Test func nbdinfoReadsThroughCertificates() throws {
        let uri = "nbds+unix:///?socket=$unixsocket&tls-certificates=\(keys.anonymousClient)"
        let parameters = ["--tls=require", "--tls-certificates=\(keys.serverCertificates)"]
        // nbdinfo reads the first sectors to guess the content; the pipe has data for that.
        let (result, _) = try stream.read(parameters + ["size=1G"], client: "nbdinfo --json \"\(uri)\"")
        #expect(result.status == 0, "\(result.output)")
        let json = try #require(result.output.firstIndex(of: "{").map { String(result.output[$0...]) })
        let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(info?["TLS"] as? Bool == true)
        let export = try #require((info?["exports"] as? [[String: Any]])?.first)
        #expect(export["export-size"] as? Int == 1 << 30)
        #expect(export["content"] != nil)
    }

    /// --tls-verify-peer: "clients must present a certificate signed by the
    /// CA"; one without a certificate, or with one from another CA, is refused.
    @Test func verifyPeerServesOnlyClientsWithACertificateFromTheCA() throws {
        let probe = { (directory: String) in
            "nbdinfo --size \"nbds+unix:///?socket=$unixsocket&tls-certificates=\(directory)\" || echo refused"
        }
        let script = [probe(keys.anonymousClient), probe(keys.foreignClient), probe(keys.clientCertificates)].joined(separator: "\n")
        let parameters = ["--tls=require", "--tls-certificates=\(keys.serverCertificates)", "--tls-verify-peer"]
        let (result, _) = try stream.write(parameters, client: script)
        #expect(result.status == 0, "\(result.output)")
        let answers = result.output.split(separator: "\n").filter { $0 == "refused" || Int($0) != nil }
        #expect(answers == ["refused", "refused", "\(stream.data.count)"], "\(result.output)")
    }
}
