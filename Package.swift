// swift-tools-version:6.0
import PackageDescription

// No Swift package dependencies, by design: Foundation, Dispatch, the toolchain's
// test libraries, and two C libraries (libpq, libcurl) through system library targets.
let package = Package(
    name: "familyconnect",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "familyconnect", targets: ["familyconnect"])
    ],
    targets: [
        // C libraries
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Building blocks
        .target(name: "Digest"),
        .target(name: "Config"),
        .target(name: "Postgres", dependencies: ["CLibPQ", "Digest"]),
        .target(name: "Identifiers"),

        // Product modules
        .target(name: "Synth", dependencies: ["Identifiers"]),
        .target(name: "Feeds", dependencies: ["Postgres", "Identifiers", "Digest", "CCurl", "Config"]),
        .target(name: "Resolution", dependencies: ["Postgres", "Identifiers"]),
        .target(name: "Families", dependencies: ["Postgres", "Identifiers", "Config", "Resolution"]),
        .target(
            name: "Flags",
            dependencies: ["Postgres", "Identifiers", "Config", "Resolution", "Families", "Feeds", "Digest"]),
        .target(name: "Daemon", dependencies: ["Postgres", "Config", "Feeds", "Resolution", "Families", "Flags"]),

        // The one executable
        .executableTarget(
            name: "familyconnect",
            dependencies: ["Postgres", "Identifiers", "Synth", "Feeds", "Resolution", "Families", "Flags", "Daemon"]
        ),

        // Test-only helpers: a real PostgreSQL database per test, never a mock.
        .target(name: "PostgresTestSupport", dependencies: ["Postgres"], path: "Tests/PostgresTestSupport"),
        .target(name: "LoopbackTestSupport", path: "Tests/LoopbackTestSupport"),
        .target(
            name: "ScenarioTestSupport", dependencies: ["Postgres", "Resolution", "Identifiers"],
            path: "Tests/ScenarioTestSupport"),

        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "PostgresTestSupport"]),
        .testTarget(name: "IdentifiersTests", dependencies: ["Identifiers"]),
        .testTarget(name: "SynthTests", dependencies: ["Synth", "Identifiers"]),
        .testTarget(
            name: "FeedsTests",
            dependencies: ["Feeds", "Postgres", "PostgresTestSupport", "LoopbackTestSupport", "Synth"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(
            name: "FamiliesTests",
            dependencies: [
                "Families", "Resolution", "Feeds", "Postgres", "PostgresTestSupport", "ScenarioTestSupport", "Synth",
            ]),
        .testTarget(
            name: "FlagsTests",
            dependencies: [
                "Flags", "Families", "Resolution", "Feeds", "Postgres", "PostgresTestSupport", "LoopbackTestSupport",
                "ScenarioTestSupport", "Synth",
            ]),
        .testTarget(
            name: "PrivacyTests",
            dependencies: [
                "Feeds", "Resolution", "Families", "Flags", "Postgres", "PostgresTestSupport", "LoopbackTestSupport",
                "Synth",
                "Identifiers",
            ]),
        .testTarget(
            name: "DaemonTests", dependencies: ["Daemon", "Feeds", "Postgres", "PostgresTestSupport", "Synth"]),
        .testTarget(
            name: "ResolutionTests", dependencies: ["Resolution", "Feeds", "Postgres", "PostgresTestSupport", "Synth"]),
    ]
)
