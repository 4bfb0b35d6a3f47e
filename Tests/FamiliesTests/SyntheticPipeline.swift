import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Resolution
import Synth

/// Synthetic feeds written, loaded through the shipped definitions and resolved to child ids:
/// the state the family grouping starts from after an ingest and resolve cycle.
struct SyntheticPipeline {
    let folder: URL
    let summary: SynthSummary
    var truthPath: String { folder.appendingPathComponent(SyntheticFeedWriter.truthFileName).path }

    init(children: Int, seed: UInt64, profile: NoiseProfile = .standard) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-families-\(UUID().uuidString)")
        summary = try SyntheticFeedWriter.write(
            config: SynthConfig(children: children, seed: seed, profile: profile), to: folder)
    }

    /// Loads every feed file (a file already loaded is skipped as a duplicate) and resolves.
    @discardableResult
    func ingestAndResolve(_ connection: PostgresConnection) throws -> ResolutionReport {
        let definitions = try FeedDefinition.loadAll(directory: TestDatabase.schemasDirectory + "/feeds")
        for kind in FeedKind.allCases {
            guard let definition = definitions.first(where: { $0.name == kind.stem }) else { continue }
            _ = try FeedLoader(definition: definition, today: SynthConfig.defaultAsOf).load(
                path: folder.appendingPathComponent(kind.fileName).path, connection: connection)
        }
        return try Resolver(connection: connection).resolveFull()
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}
