// swift-tools-version:6.0
import PackageDescription

// The rooms of the project, from the wire inwards. Linux only: it streams
// through splice(2), F_SETPIPE_SZ and prctl(2) (SystemIO says so at build time).
//   NBDProtocol     pure encode/decode of the NBD wire format, no I/O
//   SystemIO        thin typed wrappers over the system calls (with CSystemShims)
//   NBDServer       connections, handshake, dispatch; calls a plugin
//   StreamingPlugin the only place that knows about pipes and the highwater
//   CGnuTLS/TLS     GnuTLS credentials and sessions, for the server and the harness
//   StreamingCLI    nbdkit's command line; nbd-streaming the thin executable
//   ReleaseInfo     the version, the one place it is written
//   TextWrapping    word wrapping for --help and the manual pages
//   CLibNBD/NBDClient  libnbd for the tests and the harness
//   NBDConformance  the conformance harness; nbd-conformance its thin executable
let package = Package(
    name: "nbd-streaming",
    products: [
        .executable(name: "nbd-streaming", targets: ["nbd-streaming"]),
        .executable(name: "nbd-conformance", targets: ["nbd-conformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .target(name: "NBDProtocol"),
        .target(name: "ReleaseInfo"),
        .target(name: "TextWrapping"),
        .target(name: "CSystemShims"),
        .target(
            name: "SystemIO",
            dependencies: ["CSystemShims", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "NBDServer",
            dependencies: [
                "NBDProtocol",
                "SystemIO",
                "TLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "StreamingPlugin",
            dependencies: [
                "NBDServer",
                "SystemIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "StreamingCLI",
            dependencies: [
                "NBDServer",
                "StreamingPlugin",
                "ReleaseInfo",
                "TextWrapping",
                "TLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "nbd-streaming", dependencies: ["StreamingCLI"]),
        // Test-only: nbd-streaming with one injected fault, to prove the gate fails.
        .executableTarget(
            name: "nbd-streaming-faulty",
            dependencies: ["StreamingCLI", "NBDServer", "NBDProtocol", "TLS", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // GnuTLS, as nbdkit, libnbd and qemu use it; TLS wraps it for the server and the harness.
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),
        .target(name: "TLS", dependencies: ["CGnuTLS", "SystemIO", .product(name: "SystemPackage", package: "swift-system")]),
        .systemLibrary(name: "CLibNBD", pkgConfig: "libnbd", providers: [.apt(["libnbd-dev"])]),
        .target(name: "NBDClient", dependencies: ["CLibNBD"]),
        .target(name: "NBDConformance", dependencies: ["NBDClient", "TLS", "SystemIO", .product(name: "SystemPackage", package: "swift-system")]),
        .executableTarget(
            name: "nbd-conformance",
            dependencies: [
                "NBDConformance",
                "NBDClient",
                "ReleaseInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Build tool, never installed: renders man/*.in into manual pages from an executable's own
        // description of its command line (swift-argument-parser's --experimental-dump-help).
        .executableTarget(
            name: "nbd-manual",
            dependencies: ["TextWrapping", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The benchmark's client and pipe tools (bench/run.py drives them); _GNU_SOURCE makes Glibc show splice and vmsplice.
        .executableTarget(
            name: "nbd-bench",
            dependencies: ["NBDClient", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .testTarget(name: "NBDProtocolTests", dependencies: ["NBDProtocol"]),
        .testTarget(
            name: "NBDServerTests",
            dependencies: [
                "NBDServer",
                "NBDProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(
            name: "StreamingPluginTests",
            dependencies: ["StreamingPlugin", "NBDServer", .product(name: "Logging", package: "swift-log")]
        ),
        // Processes, pipes and raw sockets for the tests that drive the real binary.
        .target(name: "TestSupport", dependencies: ["NBDClient", "NBDProtocol", "TLS", .product(name: "SystemPackage", package: "swift-system")],
                path: "Tests/TestSupport"),
        .testTarget(name: "ServerTests", dependencies: ["TestSupport", "NBDClient", "NBDProtocol", "TLS", "nbd-streaming"]),
        // Test-only: an NBD proxy that injects one disk fault between the harness and a real disk server.
        .executableTarget(name: "nbd-fault-proxy", path: "Tests/FaultProxy"),
        .testTarget(
            name: "ConformanceTests",
            dependencies: ["NBDConformance", "NBDClient", "TestSupport", "nbd-conformance", "nbd-streaming", "nbd-streaming-faulty", "nbd-fault-proxy"]
        ),
        // Hostile clients and the fault matrix, against the real binary (issue 5).
        .testTarget(name: "HardeningTests", dependencies: ["TestSupport", "NBDClient", "NBDProtocol", "TLS", "nbd-streaming"]),
        // The TLS module against real nbdkit and libnbd, with keys made per run (issue 10).
        .testTarget(
            name: "TLSTests",
            dependencies: ["TLS", "TestSupport", "NBDProtocol", .product(name: "SystemPackage", package: "swift-system")]
        ),
    ]
)
