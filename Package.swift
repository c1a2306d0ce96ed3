// swift-tools-version:6.1
import PackageDescription

// Release builds of the server's modules leave out Swift's run-time exclusivity checks: on the
// Rank path they cost about 5% of the instructions (callgrind) and a thread-local lookup each.
// Debug builds, which run the tests, keep them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Personalizer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "personalizerd", targets: ["personalizerd"]),
        .executable(name: "personalizer", targets: ["personalizer"]),
        .library(name: "PersonalizerClient", targets: ["PersonalizerClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(
            name: "CLibUV", pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(
            name: "CProtobufC", pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]),
        // protoc-c output for proto/personalizer/v1/personalizer.proto (generated, committed).
        .target(name: "PersonalizerProto", dependencies: ["CProtobufC"]),

        // model: features, hashing, learner, exploration. Pure Swift, no I/O.
        .target(name: "PersonalizerModel", swiftSettings: hotPathSettings),
        // engine: loops, settings, rings, joiner, trainer, snapshots.
        .target(name: "PersonalizerEngine", dependencies: ["PersonalizerModel", "CCRC32C"],
                swiftSettings: hotPathSettings),
        // The CPU's CRC-32C instruction, which Swift cannot name (the engine falls back to tables).
        .target(name: "CCRC32C"),
        // protocol: protobuf-c messages <-> engine calls, framing.
        .target(name: "PersonalizerProtocol",
                dependencies: ["PersonalizerProto", "CProtobufC", "PersonalizerEngine", "PersonalizerModel",
                               "PersonalizerTransport"],
                swiftSettings: hotPathSettings),
        // transport: the libuv loop, the Unix socket listener, connections.
        .target(name: "PersonalizerTransport", dependencies: ["CLibUV"], swiftSettings: hotPathSettings),
        // server: wires transport -> protocol -> engine; start-up and shutdown.
        .target(name: "PersonalizerServer",
                dependencies: ["PersonalizerTransport", "PersonalizerProtocol", "PersonalizerEngine", "CLibUV"],
                swiftSettings: hotPathSettings),
        // A blocking Swift client over the same framing and messages.
        .target(name: "PersonalizerClient", dependencies: ["PersonalizerProtocol"]),

        // load generator: simulated environment, pre-encoded requests, HDR latency histograms.
        .target(name: "PersonalizerLoad", dependencies: [
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .executableTarget(name: "personalizer-load", dependencies: [
            "PersonalizerLoad",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "personalizer", dependencies: [
            "PersonalizerProtocol", "PersonalizerEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The in-process Rank path, timed (make bench-rank).
        .executableTarget(name: "personalizer-bench-rank",
                          dependencies: ["PersonalizerProtocol", "PersonalizerEngine", "PersonalizerTransport"]),
        .executableTarget(name: "personalizerd", dependencies: [
            "PersonalizerServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "personalizer-bench-learner", dependencies: ["PersonalizerModel"]),
        // fuzz target of the request path (fuzz/README.md): a replayer in a plain build, a
        // libFuzzer binary when built by `make fuzz` (-sanitize=fuzzer -DFUZZING).
        .executableTarget(name: "personalizer-fuzz",
                          dependencies: ["PersonalizerProtocol", "PersonalizerEngine", "PersonalizerTransport",
                                         "PersonalizerProto", "CProtobufC"],
                          path: "Sources/PersonalizerFuzz"),

        .testTarget(name: "PersonalizerModelTests", dependencies: ["PersonalizerModel"]),
        .testTarget(name: "PersonalizerTransportTests", dependencies: ["PersonalizerTransport"]),
        .testTarget(name: "PersonalizerEngineTests", dependencies: ["PersonalizerEngine", "PersonalizerModel"]),
        .testTarget(name: "PersonalizerProtocolTests",
                    dependencies: ["PersonalizerProtocol", "PersonalizerProto", "CProtobufC"]),
        .testTarget(name: "PersonalizerLoadTests",
                    dependencies: ["PersonalizerLoad", "PersonalizerProtocol", "PersonalizerEngine", "PersonalizerTransport",
                                   "PersonalizerProto", "CProtobufC",
                                   .product(name: "Histogram", package: "hdrhistogram-swift")]),
        .testTarget(name: "PersonalizerServerTests",
                    dependencies: ["PersonalizerServer", "PersonalizerClient", "PersonalizerProtocol"]),
    ]
)
