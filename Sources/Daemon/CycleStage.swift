import Feeds
import Foundation
import Postgres
import Resolution

/// One step of a service cycle. After the due feeds are ingested, the service runs its list of
/// stages in order on the worker's connection (resolve, then families, flags and exports, wired by
/// the executable). A stage returns counts for the log line (`links_probabilistic=12`); keys that
/// start with `links_` are also added to the `familyconnect_links_made_total` metric.
///
/// Contract: a stage does its work in one transaction (or several, each complete in itself) and is
/// idempotent — it is run again after a crash, a lost connection or a shutdown in the middle, and
/// at start-up to catch up, so a second run must find nothing left to do and change nothing.
/// A stage must not keep the connection between runs: after a reconnect it gets a new one.
public protocol CycleStage {
    var name: String { get }
    func run(_ connection: PostgresConnection) throws -> [String: Int]
}

/// Links new records to stable child ids (`Resolver.resolveIncremental`; the first run is a full one).
public struct ResolveStage: CycleStage {
    public var settings: ResolutionSettings
    public var name: String { "resolve" }

    public init(settings: ResolutionSettings = ResolutionSettings()) {
        self.settings = settings
    }

    public func run(_ connection: PostgresConnection) throws -> [String: Int] {
        // Review decisions a data officer recorded (that role may not re-cluster): applied here.
        let decisions = try Resolver(connection: connection, settings: settings).applyPendingDecisions()
        let decided = decisions.map { ["decisions_applied_run": Int($0.runID)] } ?? [:]
        // No batch waiting: nothing to link, no transaction to start. (A batch without child records
        // is marked examined by the run without estimating a model from no records.)
        guard try Resolver.hasPendingBatches(connection) else { return ["records": 0].merging(decided) { $1 } }
        let report = try Resolver(connection: connection, settings: settings).resolveIncremental()
        if report.mode == "full" { try Self.analyzeFilledTables(connection) }
        return [
            "run": Int(report.runID), "records": report.records, "pairs_compared": report.pairsCompared,
            "links_deterministic": report.linksDeterministic, "links_probabilistic": report.linksProbabilistic,
            "links_vouched_by_incident": report.linksVouchedByIncident,
            "links_vouched_by_claim": report.linksVouchedByClaim,
            "links_review": report.linksReview, "review_pairs": report.reviewPairs, "children": report.children,
            "minted": report.minted, "merged": report.merged, "split": report.split,
            "records_moved": report.recordsMoved,
        ].merging(decided) { $1 }.merging(Self.phaseCounts(report.phases)) { $1 }
    }

    /// Statistics for the tables a full run has just filled, written now rather than whenever
    /// autovacuum's next pass comes (migration 0142): the stages after this one then plan every
    /// statement against the same statistics, whichever stage that pass would have landed in.
    /// After the run's commit, so a failure here leaves the run stored and is reported as this
    /// stage's error; an incremental run's few rows are left to autovacuum.
    static func analyzeFilledTables(_ connection: PostgresConnection) throws {
        try connection.execute("SELECT resolution_tables_analyze()")
    }

    /// Each phase's wall milliseconds (`<phase>_ms`, spaces as underscores), as the families stage
    /// reports its own: where a run's time went, in the cycle's log line and the bench.
    static func phaseCounts(_ phases: [RunPhase]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for phase in phases {
            counts[countName(phase.name) + "_ms", default: 0] += Int(phase.wall * 1000)
        }
        return counts
    }

    /// "store: links" as "store_links": letters and digits, each other run of characters one underscore.
    static func countName(_ phase: String) -> String {
        phase.lowercased().split { !($0.isLetter || $0.isNumber) }.joined(separator: "_")
    }
}

/// Loads every complete file waiting in one feed's folder (a drop folder, or the staging folder a
/// remote feed was downloaded into), one transaction per file.
///
/// - A loaded file (or one whose content was loaded before) is moved to `processed/`, or deleted
///   when `deleteLoaded` (staged downloads: the data is in the database, no need for a second copy).
/// - A file refused as a whole (unreadable, bad header, rejected by the database's checks) is
///   recorded in `feed_batch_failures` and moved to `failed/` for a person to look at.
/// - A transient database error (lost connection, deadlock, shutdown cancel) is thrown: the file stays
///   where it is and is loaded whole on the next cycle, because its transaction was rolled back.
///
/// Between files it asks `shouldStop`, so a shutdown waits for one file at most.
public struct IngestStage: CycleStage {
    public let definition: FeedDefinition
    public let folder: DropFolder
    public var deleteLoaded: Bool
    public let logger: Logger
    public let shouldStop: @Sendable () -> Bool

    public var name: String { "ingest" }

    public init(
        definition: FeedDefinition, folder: DropFolder, deleteLoaded: Bool = false, logger: Logger,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) {
        self.definition = definition
        self.folder = folder
        self.deleteLoaded = deleteLoaded
        self.logger = logger
        self.shouldStop = shouldStop
    }

    public func run(_ connection: PostgresConnection) throws -> [String: Int] {
        var counts = [
            "files": 0, "batches": 0, "duplicates": 0, "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0,
            "files_failed": 0, "archive_errors": 0,
        ]
        let files: [String]
        do {
            files = try folder.pendingFiles()
        } catch {
            throw DaemonError(.dropFolder, "cannot read the folder \(folder.path)")
        }
        let feed = definition.name
        for file in files {
            if shouldStop() { break }
            let name = (file as NSString).lastPathComponent
            counts["files", default: 0] += 1
            logger.info("batch_started", ["feed": feed, "file": name])
            var succeeded = true
            do {
                switch try FeedLoader(definition: definition).load(path: file, connection: connection) {
                case .loaded(let report):
                    counts["batches", default: 0] += 1
                    counts["rows_read", default: 0] += report.rowsRead
                    counts["rows_loaded", default: 0] += report.rowsLoaded
                    counts["rows_quarantined", default: 0] += report.rowsQuarantined
                    logger.info(
                        "batch_loaded",
                        [
                            "feed": feed, "batch": report.batchID, "file": name, "rows_read": report.rowsRead,
                            "rows_loaded": report.rowsLoaded, "rows_quarantined": report.rowsQuarantined,
                            "bytes": Int(report.bytes), "seconds": report.seconds,
                        ])
                case .duplicate(let batchID):
                    counts["duplicates", default: 0] += 1
                    logger.notice("batch_duplicate", ["feed": feed, "file": name, "same_as_batch": batchID])
                }
            } catch {
                if ErrorText.isTransient(error) || !connection.isOpen {
                    logger.warning(
                        "batch_rolled_back",
                        [
                            "feed": feed, "file": name, "sqlstate": ErrorText.sqlState(error),
                            "reason": ErrorText.describe(error),
                        ])
                    throw error
                }
                succeeded = false
                counts["files_failed", default: 0] += 1
                let reason = ErrorText.describe(error)
                logger.error(
                    "file_refused",
                    ["feed": feed, "file": name, "sqlstate": ErrorText.sqlState(error), "reason": reason])
                FeedLoader.recordFailure(
                    feed: feed, sourceName: name, sha256: nil, reason: reason, connection: connection)
            }
            do {
                if succeeded && deleteLoaded {
                    try FileManager.default.removeItem(atPath: file)
                } else {
                    let moved = try folder.archive(file, succeeded: succeeded)
                    logger.debug(
                        "file_archived", ["feed": feed, "file": name, "to": (moved as NSString).lastPathComponent])
                }
            } catch {
                counts["archive_errors", default: 0] += 1
                logger.error(
                    "file_not_moved", ["feed": feed, "file": name, "reason": "could not move or remove the file"])
            }
        }
        return counts
    }
}
