import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Families
@testable import Flags
@testable import Resolution

/// The roles of migration 0010, tested by connecting as a login user of each and trying.
/// A refusal is SQLSTATE 42501 (insufficient_privilege).
@Suite("Database roles: who can read and write what")
struct RoleTests {
    static let rawTables = [
        "feed_batches", "source_records", "quarantined_rows", "feed_batch_quality", "feed_batch_failures",
    ]

    @Test("the service runs the whole pipeline; the officer, outreach and auditor roles get exactly their share")
    func matrix() throws {
        try TestDatabase.with(.migrated) { database in
            let users = try RoleUsers(database)
            defer { users.dropAll() }
            try users.admin.execute("SELECT familyconnect_secure_database()")
            let service = try users.user("service", in: "familyconnect_service")
            let officer = try users.user("officer", in: "familyconnect_officer")
            let outreach = try users.user("outreach", in: "familyconnect_outreach")
            let auditor = try users.user("auditor", in: "familyconnect_auditor")

            // The daemon's work, all of it as the service: load, resolve, group, flag, export.
            let world = try PrivacyWorld.build(database, children: 1200, user: service)
            defer { world.remove() }
            let admin = users.admin
            #expect(try world.count("SELECT count(*) FROM source_records") > 0)
            #expect(
                try world.count("SELECT count(*) FROM outreach_flag_export") > 0, "the export filled the outreach view")

            // No role but the service may write a raw partner table (checked for every table and verb).
            for table in Self.rawTables {
                for verb in ["INSERT", "UPDATE", "DELETE", "TRUNCATE"] {
                    for (user, allowed) in [(service, true), (officer, false), (outreach, false), (auditor, false)] {
                        let has = try admin.execute("SELECT has_table_privilege($1, $2, $3)", [user, table, verb])
                            .scalar(Bool.self)
                        #expect(has == allowed, "\(user) \(verb) \(table)")
                    }
                }
            }
            // Every table and view in the schema: who may write it at all.
            let relations = try admin.query(
                """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p') ORDER BY 1
                """
            ).map { try $0.decode(String.self, at: 0) }
            #expect(relations.count > 40)
            for relation in relations {
                let write = "INSERT,UPDATE,DELETE,TRUNCATE"
                let outreachReads = try admin.execute(
                    "SELECT has_table_privilege($1, $2, 'SELECT')", [outreach, relation]
                ).scalar(Bool.self)
                #expect(
                    outreachReads == ["outreach_flag_export", "outreach_flags"].contains(relation),
                    "outreach reads \(relation)")
                #expect(
                    try !admin.execute("SELECT has_table_privilege($1, $2, $3)", [outreach, relation, write]).scalar(
                        Bool.self))
                #expect(
                    try !admin.execute("SELECT has_table_privilege($1, $2, $3)", [auditor, relation, write]).scalar(
                        Bool.self))
                let auditorReads = try admin.execute(
                    "SELECT has_table_privilege($1, $2, 'SELECT')", [auditor, relation]
                ).scalar(Bool.self)
                #expect(auditorReads == (relation != "erasure_secret"), "auditor reads \(relation)")
                let officerWrites = try admin.execute(
                    "SELECT has_table_privilege($1, $2, 'INSERT') OR has_any_column_privilege($1, $2, 'INSERT,UPDATE') "
                        + "OR has_table_privilege($1, $2, 'DELETE,TRUNCATE')", [officer, relation]
                ).scalar(Bool.self)
                // access_audit: through access_audit_record() only, since migration 0017 (AuditTrailTests).
                #expect(
                    officerWrites == ["review_decisions", "review_pairs"].contains(relation),
                    "officer writes \(relation)")
            }

            // The officer: reads records and match results, works the review queue, nothing else.
            let asOfficer = try database.connect(as: officer)
            #expect(try asOfficer.execute("SELECT count(*) FROM source_records").scalar(Int.self) > 0)
            #expect(try asOfficer.execute("SELECT count(*) FROM record_links").scalar(Int.self) > 0)
            #expect(try asOfficer.execute("SELECT count(*) FROM family_overview").scalar(Int.self) > 0)
            #expect(sqlState { try asOfficer.execute("SELECT count(*) FROM quarantined_rows") } == "42501")
            #expect(sqlState { try asOfficer.execute("SELECT count(*) FROM access_audit") } == "42501")
            #expect(sqlState { try asOfficer.execute("SELECT secret FROM erasure_secret") } == "42501")
            #expect(
                sqlState { try asOfficer.execute("UPDATE source_records SET given_name = 'X' WHERE id = 1") } == "42501"
            )
            #expect(sqlState { try asOfficer.execute("DELETE FROM child_records") } == "42501")
            #expect(sqlState { try asOfficer.execute("UPDATE review_pairs SET weight = 99") } == "42501")
            #expect(sqlState { try asOfficer.execute("CREATE TABLE officer_was_here (x int)") } == "42501")
            #expect(sqlState { try asOfficer.execute("CREATE TEMP TABLE officer_scratch (x int)") } == "42501")
            #expect(sqlState { try asOfficer.execute("UPDATE flags SET status = 'closed'") } == "42501")

            // … decides a review pair: the decision and the audit entry are recorded; re-clustering
            // waits for the service, which applies it on its next resolution run.
            let queue = ReviewQueue(connection: asOfficer)
            let open = try queue.list(limit: 5)
            try #require(!open.isEmpty, "the synthetic world has review pairs")
            let pair = open[0]
            _ = try queue.show(pair.id, reason: "checking a possible duplicate")
            let report = try queue.decide(
                pair.id, sameChild: false, reason: "different children: checked with the school")
            #expect(report == nil)
            #expect(try world.count("SELECT count(*) FROM review_decisions WHERE applied_at IS NULL") == 1)
            #expect(
                try world.count("SELECT count(*) FROM review_pairs WHERE id = $1 AND status = 'rejected'", [pair.id])
                    == 1)
            let applied = try Resolver(connection: world.connection).applyPendingDecisions()
            #expect(applied != nil)
            #expect(try world.count("SELECT count(*) FROM review_decisions WHERE applied_at IS NULL") == 0)
            #expect(try Resolver(connection: world.connection).applyPendingDecisions() == nil, "idempotent")

            // The audit says who, and the officer cannot alter or remove it.
            let stamped = try admin.query(
                "SELECT DISTINCT database_role, os_user FROM access_audit WHERE action IN ('review_show', 'review_reject')"
            )
            #expect(stamped.count == 1)
            #expect(try stamped.first?.decode(String.self, at: 0) == officer)
            #expect(try stamped.first?.decode(String?.self, at: 1) == AccessLog.osUser)
            #expect(sqlState { try asOfficer.execute("UPDATE access_audit SET reason = 'nothing to see'") } == "42501")
            #expect(sqlState { try asOfficer.execute("DELETE FROM access_audit") } == "42501")
            #expect(sqlState { try asOfficer.execute("TRUNCATE access_audit") } == "42501")
            // Claiming to be someone else is refused (column privilege), and the trigger would overrule it anyway.
            #expect(
                sqlState {
                    try asOfficer.execute(
                        "INSERT INTO access_audit (database_role, action, subject_ids, reason) VALUES ('someone_else', 'x', '{}', 'xxx')"
                    )
                } == "42501")
            try admin.execute(
                "INSERT INTO access_audit (database_role, at, action, subject_ids, reason) VALUES ('someone_else', '2001-01-01', 'x', '{}', 'xxx')"
            )
            #expect(
                try admin.execute("SELECT database_role FROM access_audit WHERE action = 'x'").scalar(String.self)
                    == "postgres")
            #expect(
                try world.count(
                    "SELECT count(*) FROM access_audit WHERE action = 'x' AND at > now() - interval '1 hour'") == 1)
            // Not even the owner changes it: the append-only trigger refuses everyone.
            #expect(sqlState { try admin.execute("UPDATE access_audit SET reason = 'rewritten'") } == "42501")
            #expect(sqlState { try admin.execute("DELETE FROM access_audit") } == "42501")
            // … and the service may add to it, not change it.
            let asService = try database.connect(as: service)
            #expect(sqlState { try asService.execute("UPDATE access_audit SET reason = 'rewritten'") } == "42501")
            #expect(sqlState { try asService.execute("DELETE FROM access_audit") } == "42501")
            #expect(sqlState { try asService.execute("CREATE TABLE service_ddl (x int)") } == "42501")
            #expect(try asService.execute("SELECT count(*) FROM erasure_secret").scalar(Int.self) == 1)

            // The auditor reads everything, the audit included, and writes nothing.
            let asAuditor = try database.connect(as: auditor)
            for relation in relations where relation != "erasure_secret" {
                // The name comes from pg_class above, quoted as an identifier.
                _ = try asAuditor.execute("SELECT 1 FROM \"\(relation)\" LIMIT 1")
            }
            #expect(try asAuditor.execute("SELECT count(*) FROM access_audit").scalar(Int.self) >= 3)
            #expect(sqlState { try asAuditor.execute("SELECT * FROM erasure_secret") } == "42501")
            #expect(
                try asAuditor.execute("SELECT count(*) FROM outreach_flags").scalar(Int.self)
                    == world.count("SELECT count(*) FROM outreach_flag_export"))
            #expect(
                sqlState {
                    try asAuditor.execute(
                        "INSERT INTO access_audit (action, subject_ids, reason) VALUES ('x', '{}', 'xxx')")
                } == "42501")
            #expect(sqlState { try asAuditor.execute("DELETE FROM source_records") } == "42501")
            #expect(sqlState { try asAuditor.execute("CREATE TEMP TABLE t (x int)") } == "42501")

            // Outreach: its own team's exported flags, nothing of the partner records.
            let teams = try admin.query(
                "SELECT team, count(*) FROM outreach_flag_export GROUP BY team ORDER BY count(*) DESC, team"
            ).map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
            try #require(teams.count >= 2, "flags for at least two teams")
            let (team, rows) = teams[0]
            let asOutreach = try database.connect(as: outreach)
            #expect(
                try asOutreach.execute("SELECT count(*) FROM outreach_flags").scalar(Int.self) == 0, "no team: no rows")
            try admin.execute("INSERT INTO outreach_team_members (db_role, team) VALUES ($1, $2)", [outreach, team])
            #expect(try asOutreach.execute("SELECT count(*) FROM outreach_flags").scalar(Int.self) == rows)
            #expect(
                try asOutreach.execute("SELECT count(*) FROM outreach_flags WHERE team <> $1", [team]).scalar(Int.self)
                    == 0)
            #expect(try asOutreach.execute("SELECT count(*) FROM outreach_flag_export").scalar(Int.self) == rows)
            // A session setting is no way round it (the policy reads role membership, not settings).
            try asOutreach.execute("SELECT set_config('familyconnect.team', $1, false)", [teams[1].0])
            #expect(
                try asOutreach.execute("SELECT count(*) FROM outreach_flags WHERE team = $1", [teams[1].0]).scalar(
                    Int.self) == 0)
            for table in Self.rawTables + [
                "children", "child_records", "families", "family_members", "flags", "flag_evidence",
                "indicators", "access_audit", "outreach_team_members", "export_files", "family_overview",
            ] {
                #expect(
                    sqlState { try asOutreach.execute("SELECT 1 FROM \"\(table)\" LIMIT 1") } == "42501",
                    "outreach reads \(table)")
            }
            #expect(sqlState { try asOutreach.execute("UPDATE outreach_flag_export SET status = 'closed'") } == "42501")
            #expect(
                sqlState {
                    try asOutreach.execute("INSERT INTO outreach_team_members VALUES (current_user, $1)", [teams[1].0])
                } == "42501")
            // A team can be a group role: members of it see that team's rows.
            let teamGroup = "\(users.prefix)_team"
            try admin.execute("CREATE ROLE \(teamGroup) NOLOGIN")
            defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(teamGroup)") }
            let second = try users.user("outreach2", in: "familyconnect_outreach")
            try admin.execute("GRANT \(teamGroup) TO \(second)")
            try admin.execute(
                "INSERT INTO outreach_team_members (db_role, team) VALUES ($1, $2)", [teamGroup, teams[1].0])
            let asSecond = try database.connect(as: second)
            #expect(try asSecond.execute("SELECT count(DISTINCT team) FROM outreach_flags").scalar(Int.self) == 1)
            #expect(try asSecond.execute("SELECT count(*) FROM outreach_flags").scalar(Int.self) == teams[1].1)
            // Status changes reach the view (a flag closed by the service).
            let flag = try asOutreach.execute("SELECT flag_id FROM outreach_flags ORDER BY flag_id LIMIT 1").scalar(
                String.self)
            try FlagLifecycle.close(
                flagID: flag, outcome: "engaged with early help", on: world.asOf, by: "test",
                connection: world.connection)
            #expect(
                try asOutreach.execute("SELECT status FROM outreach_flags WHERE flag_id = $1", [flag]).scalar(
                    String.self) == "closed")

            for connection in [asOfficer, asService, asAuditor, asOutreach, asSecond] { connection.close() }
            world.connection.close()
            try admin.execute("DELETE FROM outreach_team_members")
            _ = try? admin.execute("DROP ROLE IF EXISTS \(teamGroup)")
        }
    }

    @Test("the stages' advisory lock keys are the ones a purge and an erasure take")
    func lockKeys() {
        #expect(PipelineLocks.resolver == Resolver.lockKey)
        #expect(PipelineLocks.families == FamilyGrouper.lockKey)
        #expect(PipelineLocks.export == Exporter.lockKey)
        #expect(PipelineLocks.flags == FlagEngine.lockKey)
        #expect(PipelineLocks.indicators == IndicatorBuilder.lockKey)
        #expect(Set(PipelineLocks.all).count == PipelineLocks.all.count)
    }
}
