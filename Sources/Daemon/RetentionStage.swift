import Feeds
import Flags
import Foundation
import Identifiers
import Postgres

/// The retention purge on a schedule: at most once a day (UTC), after a cycle, it deletes what is
/// past its feed's retention period (`Purger`) and logs the counts in `purge_runs`. Idempotent:
/// once today's purge is logged, later cycles find nothing to do.
///
/// Wire it after the other stages: `RetentionStage(definitions: { current feed definitions })`.
public struct RetentionStage: CycleStage {
    /// The feed definitions in force (their `retention_years`, `retention_from`), asked at each run
    /// so that a reload is honoured.
    public let definitions: @Sendable () -> [FeedDefinition]
    public let today: @Sendable () -> CalendarDate

    public var name: String { "retention" }

    public init(
        definitions: @escaping @Sendable () -> [FeedDefinition],
        today: @escaping @Sendable () -> CalendarDate = { CalendarDate.today() }
    ) {
        self.definitions = definitions
        self.today = today
    }

    public func run(_ connection: PostgresConnection) throws -> [String: Int] {
        let day = today()
        if try Purger.hasRun(on: day, connection) { return ["purged_today": 1] }
        let report = try Purger(connection: connection, definitions: definitions(), asOf: day).run(
            startedBy: "schedule")
        return report.counts
    }
}
