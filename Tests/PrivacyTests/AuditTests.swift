import Feeds
import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Flags

/// Every command that shows personal data asks why and records who, what, when and why; `audit`
/// answers "who looked at this child". Run through the real binary, as the roles people would have.
@Suite("Audited access")
struct AuditTests {
    @Test(
        "families show, flags show, explain and export need --reason and are audited; audit queries by subject, role and date"
    )
    func commands() throws {
        try TestDatabase.with(.migrated) { database in
            let users = try RoleUsers(database)
            defer { users.dropAll() }
            let officer = try users.user("officer", in: "familyconnect_officer")
            let auditor = try users.user("auditor", in: "familyconnect_auditor")
            let service = try users.user("service", in: "familyconnect_service")
            let world = try PrivacyWorld.build(database, children: 150, seed: 8, user: service)
            defer { world.remove() }
            let connection = world.connection
            func db(_ user: String) -> [String] { ["--database", database.connectionString + " user=\(user)"] }
            func entries(_ action: String) throws -> Int {
                try world.count("SELECT count(*) FROM access_audit WHERE action = $1", [action])
            }

            // A child the flag's evidence is about: `flags show` records those children, not every member.
            let row = try #require(
                try connection.query(
                    """
                    SELECT f.flag_id, f.family_id, e.child_id FROM flags f JOIN flag_evidence e ON e.flag_id = f.flag_id
                    JOIN family_members m ON m.family_id = f.family_id AND m.child_id = e.child_id
                    ORDER BY f.flag_id, e.child_id LIMIT 1
                    """
                ).first)
            let (flag, family, child) = (
                try row.decode(String.self, at: 0), try row.decode(String.self, at: 1),
                try row.decode(String.self, at: 2)
            )

            // No reason, no data, no entry.
            for arguments in [
                ["families", "show", family], ["flags", "show", flag], ["explain", child],
                ["flags", "show", flag, "--reason", "  "],
            ] {
                let refused = try FamilyConnectBinary.run(arguments + db(officer))
                #expect(refused.status == 2 && refused.stderr.contains("--reason"), "\(arguments)")
                #expect(!refused.stdout.contains(child))
            }
            #expect(try entries("families_show") + entries("flags_show") + entries("explain") == 0)

            // With a reason: shown, and recorded with the officer's login and OS user.
            let families = try FamilyConnectBinary.run(
                ["families", "show", family.lowercased(), "--reason", "case review CR-1"] + db(officer))
            #expect(families.status == 0 && families.stdout.contains(child), "\(families.stderr)")
            let flags = try FamilyConnectBinary.run(
                ["flags", "show", flag, "--reason", "case review CR-1"] + db(officer))
            #expect(flags.status == 0 && flags.stdout.contains(family), "\(flags.stderr)")
            let explain = try FamilyConnectBinary.run(
                ["explain", child, "--reason", "checking a link for CR-1"] + db(officer))
            #expect(explain.status == 0, "\(explain.stderr)")
            let shown = try connection.query(
                """
                SELECT action, database_role, os_user, reason, $1 = ANY(subject_ids), $2 = ANY(subject_ids) FROM access_audit
                WHERE action IN ('families_show', 'flags_show', 'explain') ORDER BY id
                """, [child, family])
            #expect(shown.count == 3)
            for entry in shown {
                #expect(try entry.decode(String.self, at: 1) == officer)
                #expect(try entry.decode(String?.self, at: 2) == AccessLog.osUser)
                #expect(try entry.decode(String.self, at: 3).contains("CR-1"))
                #expect(try entry.decode(Bool.self, at: 4), "the child's id is recorded")
            }
            #expect(try shown[0].decode(Bool.self, at: 5), "families show records the family")

            // Export: names and addresses leave the database, so it is audited (the daemon's own export was, too).
            #expect(try entries("export") > 0, "the pipeline's export is recorded")
            let before = try entries("export")
            let noReason = try FamilyConnectBinary.run(
                ["export", "--outbox", world.outbox, "--schemas", PrivacyWorld.schemas] + db(service))
            #expect(noReason.status == 2)
            let dry = try FamilyConnectBinary.run(
                ["export", "--dry-run", "--outbox", world.outbox, "--schemas", PrivacyWorld.schemas] + db(service))
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(try entries("export") == before, "a dry run shows counts only")
            let exportEntry = try connection.query(
                "SELECT subject_ids::text FROM access_audit WHERE action = 'export' ORDER BY id LIMIT 1"
            ).first
            let subjects = try #require(exportEntry).decode(String.self, at: 0)
            #expect(subjects.contains("export_file:") && subjects.contains("team:"))

            // The audit command: for the auditor, not the officer.
            let bySubject = try FamilyConnectBinary.run(["audit", "--subject", child.lowercased()] + db(auditor))
            #expect(bySubject.status == 0, "\(bySubject.stderr)")
            for action in ["families_show", "flags_show", "explain"] {
                #expect(bySubject.stdout.contains("  \(action)  "), "\(action) in:\n\(bySubject.stdout)")
            }
            let byRole = try FamilyConnectBinary.run(["audit", "--role", officer] + db(auditor))
            #expect(byRole.stdout.hasPrefix("3 entries"), "\(byRole.stdout)")
            let future = try FamilyConnectBinary.run(["audit", "--since", "2999-01-01"] + db(auditor))
            #expect(future.stdout.hasPrefix("0 entries"))
            let byAction = try AuditQuery.entries(connection, subject: child, action: "explain")
            #expect(byAction.count == 1 && byAction[0].databaseRole == officer && byAction[0].subjects.contains(child))
            let officerAudit = try FamilyConnectBinary.run(["audit"] + db(officer))
            #expect(officerAudit.status == 1 && officerAudit.stderr.contains("42501"), "\(officerAudit.stderr)")
            world.connection.close()
        }
    }
}
