import Foundation
import Testing
@testable import NBDConformance

/// The executable's contract with CI: usage mistakes exit 2, never 0 and never 1.
struct CommandLineTests {
    static let usageMistakes: [[String]] = [
        ["--filter", "no-such-case"],
        ["--filter", "negotiation/list-exports-not-refused"],
        ["--exclude", "*"],
        ["--no-such-option"],
        ["--server", "true", "--target", "unix:/nonexistent"],
        ["--pipe", "/tmp/pipe"],
        ["--target", "ftp://example"],
        ["--timeout", "0"],
        ["--jobs", "0"],
        ["--profile", "tape"],
        ["--profile", "disk", "--server", "true", "--allow-writes"],
        ["--allow-writes", "--target", "unix:/nonexistent"],
        ["--tls-psk", "/nonexistent/keys.psk"],
        ["--tls-psk", "/nonexistent/keys.psk", "--tls-certificates", "/nonexistent"],
        ["--tls-username", "alice"],
        ["--tls-certificates", "/a directory/with a space"],
        ["--target", "nbds+unix:///?socket=/nonexistent/nbd.sock"],
    ]

    @Test(arguments: usageMistakes)
    func usageMistakeExitsTwo(_ arguments: [String]) throws {
        let result = try ChildProcess.run(try BuiltProducts.require(BuiltProducts.conformance), arguments)
        #expect(result.status == 2, "stdout: \(result.output)\nstderr: \(result.errorOutput)")
        #expect(!result.errorOutput.isEmpty)
    }

    @Test func unreachableTargetIsAnInfrastructureError() throws {
        let result = try ChildProcess.run(try BuiltProducts.require(BuiltProducts.conformance),
                                          ["--target", "unix:/nonexistent/nbd.sock", "--timeout", "5"])
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("cannot reach the target"))
    }

    @Test func listPrintsEveryCaseWithItsLevelAndReference() throws {
        let result = try ChildProcess.run(try BuiltProducts.require(BuiltProducts.conformance), ["--list"])
        #expect(result.status == 0)
        for testCase in Catalog.cases(for: .streaming) {
            #expect(result.output.contains("\(testCase.id)  [\(testCase.level.rawValue)"))
            #expect(result.output.contains(testCase.requirement.citation))
        }
    }

    @Test func catalogIDsAreUniqueAndGrouped() {
        let ids = Catalog.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(Catalog.all.allSatisfy { Catalog.groups.contains($0.group) && !$0.name.isEmpty })
    }
}

/// docs/conformance.md lists every case of both profiles with its requirement; a case added or reworded
/// without the docs fails here.
struct CatalogDocumentationTests {
    @Test func everyCaseAndItsRequirementIsDocumented() throws {
        let document = try String(contentsOfFile: BuiltProducts.packageRoot + "/docs/conformance.md", encoding: .utf8)
        for testCase in Catalog.all {
            let quote = testCase.requirement.quote.replacingOccurrences(of: "|", with: "\\|")
            #expect(document.contains("| `\(testCase.id)` | \(testCase.level.rawValue)"), "\(testCase.id) is not in docs/conformance.md")
            #expect(document.contains(quote), "the requirement of \(testCase.id) is not in docs/conformance.md")
        }
    }
}
