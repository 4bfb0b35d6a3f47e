import Foundation
import PostgresTestSupport
import Testing

/// `familyconnect bench ingest --normaliser-only` on a generated file: it times the normaliser and
/// removes the temporary folder it generated the file in (it used to return before doing so).
@Suite("bench ingest --normaliser-only")
struct BenchIngestTests {
    @Test("times the normaliser on a generated file and leaves no temporary folder behind")
    func removesGeneratedFolder() throws {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fc-bench-tmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let result = try FamilyConnectBinary.run(
            ["bench", "ingest", "--normaliser-only", "--rows", "300", "--schemas", TestDatabase.schemasDirectory],
            environment: ["TMPDIR": temporary.path])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("normaliser alone, fastest of 3: "), "\(result.stdout)")
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path)
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
