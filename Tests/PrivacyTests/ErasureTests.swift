import Families
import Feeds
import Foundation
import Identifiers
import Postgres
import PostgresTestSupport
import Synth
import Testing

@testable import Flags

/// Subject access and erasure, on a synthetic council with one planted child whose name and
/// identifiers appear nowhere else: after erasure, no text column of any table holds them.
@Suite("Subject access and erasure")
struct ErasureTests {
    /// The planted child: a name no generator produces, a leap-day birthday, valid identifiers.
    struct Planted {
        static let given = "Zephyrine"
        static let family = "Quillfeather-Oyelaran"
        static let dob = CalendarDate(year: 2016, month: 2, day: 29)!
        static let nhs =
            NHSNumber.withCheckDigit(firstNine: [4, 7, 3, 2, 9, 1, 5, 8, 6])
            ?? NHSNumber.withCheckDigit(firstNine: [4, 7, 3, 2, 9, 1, 5, 8, 7])!
        static let upn = UniquePupilNumber.withCheckLetter(lastTwelve: "926477125731")!
        /// What a search for the child must not find after erasure (case-insensitive).
        static var needles: [String] {
            [
                "zephyrine", "quillfeather", "oyelaran", nhs.digits, nhs.formatted, upn.value, "2016-02-29",
                "29/02/2016", "20160229",
            ]
        }
    }

    /// A feed file of rows given as column → value, in the synthetic feed's header order.
    static func write(_ kind: FeedKind, rows: [[String: String]], to url: URL) throws {
        func cell(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var text = kind.columns.map(cell).joined(separator: ",") + "\n"
        for row in rows { text += kind.columns.map { cell(row[$0] ?? "") }.joined(separator: ",") + "\n" }
        try Data(text.utf8).write(to: url)
    }

    /// School terms for the planted child at a family's home, with persistent absence; two police
    /// notifications (one with an impossible date of birth, so quarantined with the name in it).
    static func plantedFiles(
        in folder: URL, home: (line1: String, town: String, postcode: String), tag: String
    ) throws -> [(FeedKind, URL)] {
        let school = folder.appendingPathComponent("planted-school-\(tag).csv")
        let terms = [("2025-09-03", "2025-12-19"), ("2026-01-05", "2026-03-27"), ("2026-04-13", "2026-07-21")]
        try write(
            .schoolAttendance,
            rows: terms.map { term in
                [
                    "UPN": Planted.upn.value, "LegalForename": Planted.given, "LegalSurname": Planted.family,
                    "PreferredForename": Planted.given, "PreferredSurname": Planted.family,
                    "DateOfBirth": Planted.dob.iso8601,
                    "Gender": "Female", "AddressLine1": home.line1, "Town": home.town, "Postcode": home.postcode,
                    "SchoolName": "Wherry High School", "PeriodStart": term.0, "PeriodEnd": term.1,
                    "SessionsPossible": "120",
                    "SessionsAttended": "80",
                ]
            }, to: school)
        let police = folder.appendingPathComponent("planted-police-\(tag).csv")
        try write(
            .policeNotifications,
            rows: [
                [
                    "INCIDENT_REF": "NC-26-9\(tag.prefix(5))1", "INCIDENT_DATETIME": "20260610 21:40",
                    "INCIDENT_TYPE": "DOMESTIC ABUSE",
                    "CHILD_PRESENT": "Y", "CHILD_NAME": "QUILLFEATHER-OYELARAN, ZEPHYRINE", "CHILD_DOB": "29/02/2016",
                    "CHILD_AGE": "10",
                    "ADDRESS": "\(home.line1.uppercased()), \(home.town.uppercased())", "POSTCODE": home.postcode,
                    "ADULTS_INVOLVED": "2 (MOTHER, PARTNER)",
                ],
                [
                    "INCIDENT_REF": "NC-26-9\(tag.prefix(5))2", "INCIDENT_DATETIME": "20260702 23:10",
                    "INCIDENT_TYPE": "DOMESTIC ABUSE",
                    "CHILD_PRESENT": "Y", "CHILD_NAME": "QUILLFEATHER-OYELARAN, ZEPHYRINE", "CHILD_DOB": "31/02/2016",
                    "CHILD_AGE": "10",
                    "ADDRESS": "\(home.line1.uppercased()), \(home.town.uppercased())", "POSTCODE": home.postcode,
                    "ADULTS_INVOLVED": "NHS \(Planted.nhs.formatted)",
                ],
            ], to: police)
        return [(.schoolAttendance, school), (.policeNotifications, police)]
    }

    /// Every text, JSON and array column of every table in the schema that holds one of the needles.
    static func search(_ connection: PostgresConnection, for needles: [String]) throws -> [String] {
        let columns = try connection.query(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'name', 'USER-DEFINED')
            ORDER BY 1, 2
            """
        ).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
        #expect(columns.count > 60)
        var hits: [String] = []
        for (table, column) in columns {
            // Names from the catalogue, quoted by the server.
            let quoted = try connection.execute("SELECT quote_ident($1), quote_ident($2)", [table, column]).rows[0]
            let sql =
                "SELECT count(*) FROM \(try quoted.decode(String.self, at: 0)) "
                + "WHERE \(try quoted.decode(String.self, at: 1))::text ILIKE ANY ($1::text[])"
            let n = try connection.execute(sql, [needles.map { "%" + $0 + "%" }]).scalar(Int.self)
            if n > 0 { hits.append("\(table).\(column): \(n)") }
        }
        return hits
    }

    @Test("sar writes everything held; erase leaves nothing findable; a re-sent file is held until a person decides")
    func eraseAndResend() throws {
        try TestDatabase.with(.migrated) { database in
            let world = try PrivacyWorld.build(database, children: 250, seed: 5)
            defer { world.remove() }
            let connection = world.connection
            #expect(try Self.search(connection, for: Planted.needles).isEmpty, "the planted child is nowhere yet")

            // Plant the child in a family with an open flag, at its home. The family has another member,
            // so someone holds the home's grouping key too; the address is in one column, as the planted
            // rows write it, so both give one key. Ordered by record, not by the random flag ids, so every
            // run plants the child at the same home.
            let home = try connection.query(
                """
                SELECT sr.address_line1, sr.town, sr.postcode FROM flags fl JOIN families f ON f.family_id = fl.family_id
                JOIN source_records sr ON sr.id = f.address_record_id
                WHERE fl.status <> 'closed' AND sr.address_line1 IS NOT NULL AND sr.address_line2 IS NULL
                  AND sr.town IS NOT NULL AND sr.postcode IS NOT NULL
                  AND (SELECT count(*) FROM family_members m WHERE m.family_id = f.family_id) >= 2
                ORDER BY sr.id LIMIT 1
                """
            ).first
            let address = try #require(home)
            let files = try Self.plantedFiles(
                in: world.folder,
                home: (
                    try address.decode(String.self, at: 0), try address.decode(String.self, at: 1),
                    try address.decode(String.self, at: 2)
                ),
                tag: "a1")
            for (kind, url) in files {
                _ = try FeedLoader(definition: try world.definition(kind), today: world.asOf).load(
                    path: url.path, connection: connection)
            }
            try world.cycle()
            let child = try connection.execute(
                "SELECT DISTINCT cr.child_id FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id WHERE sr.upn = $1",
                [Planted.upn.value]
            ).scalar(String.self)
            let records = try world.count("SELECT count(*) FROM child_records WHERE child_id = $1", [child])
            #expect(records == 4, "three school terms and one police notification")
            #expect(try world.count("SELECT count(*) FROM quarantined_rows WHERE raw_line ILIKE '%quillfeather%'") == 1)
            #expect(try world.count("SELECT count(*) FROM family_members WHERE child_id = $1", [child]) == 1)
            #expect(try world.count("SELECT count(*) FROM indicators WHERE child_id = $1", [child]) > 0)
            #expect(!(try Self.search(connection, for: Planted.needles)).isEmpty)

            // Subject access, through the command.
            let sarPath = world.folder.appendingPathComponent("sar.json").path
            let sar = try FamilyConnectBinary.run([
                "sar", child.lowercased(), "--out", sarPath, "--reason", "subject access request 2026/117",
                "--database",
                database.connectionString,
            ])
            #expect(sar.status == 0, "\(sar.stderr)")
            let attributes = try FileManager.default.attributesOfItem(atPath: sarPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sarPath)))
                    as? [String: Any])
            #expect(document["child_id"] as? String == child)
            let sourceRecords = document["source_records"] as? [[String: Any]] ?? []
            #expect(sourceRecords.count == records)
            #expect(
                sourceRecords.allSatisfy {
                    (($0["record"] as? [String: Any])?["family_name"] as? String) == Planted.family
                })
            #expect((document["record_links"] as? [Any])?.count ?? 0 >= 3)
            // Each link shows its field-by-field comparison, rebuilt from its stored levels (migration 0130).
            #expect(
                (document["record_links"] as? [[String: Any]] ?? []).allSatisfy {
                    (($0["comparison"] as? [String: Any])?["given_name"] as? [String: Any])?["level"] is String
                })
            #expect((document["families"] as? [Any])?.count ?? 0 >= 1)
            #expect((document["indicators"] as? [Any])?.count ?? 0 >= 1)
            #expect(
                (document["quarantined_rows"] as? [Any])?.count == 1,
                "the quarantined notification with the child's name")
            let audit = document["access_audit"] as? [[String: Any]] ?? []
            #expect(audit.contains { $0["action"] as? String == "sar" }, "the request audits itself")
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: sarPath)), as: UTF8.self)
            // Other children are not named: the family's other members appear only as "another member".
            let siblings = try connection.query(
                "SELECT child_id FROM family_members WHERE family_id = (SELECT family_id FROM family_members WHERE child_id = $1) AND child_id <> $1",
                [child]
            ).map { try $0.decode(String.self, at: 0) }
            for sibling in siblings { #expect(!text.contains(sibling), "a sibling's id in the SAR") }
            // An existing file is never overwritten.
            let again = try FamilyConnectBinary.run([
                "sar", child, "--out", sarPath, "--reason", "again", "--database", database.connectionString,
            ])
            #expect(again.status == 1)

            // Erasure, through the command.
            let flagsBefore = try world.count("SELECT count(*) FROM flags")
            #expect(try world.count("SELECT count(*) FROM family_keys WHERE member = $1", [child]) > 0)
            let sharingKeys = Set(
                try connection.query(
                    """
                    SELECT DISTINCT sharing.member FROM family_keys held JOIN family_keys sharing ON sharing.key = held.key
                    WHERE held.member = $1 AND sharing.member <> $1
                    """, [child]
                ).map { try $0.decode(String.self, at: 0) })
            #expect(!sharingKeys.isEmpty, "the child lives at a family's home")
            let erase = try FamilyConnectBinary.run([
                "erase", child, "--reason", "erasure request 2026/118 upheld", "--database", database.connectionString,
            ])
            #expect(erase.status == 0, "\(erase.stderr)")
            #expect(erase.stdout.contains("erased \(child)"))
            // Copies outside the database are named, so a person can deal with them.
            for (_, url) in files {
                #expect(erase.stdout.contains("file \(url.lastPathComponent): delete or redact"), "\(erase.stdout)")
            }
            for needle in Planted.needles { #expect(!erase.stdout.lowercased().contains(needle)) }
            let hits = try Self.search(connection, for: Planted.needles)
            #expect(hits.isEmpty, "still held after erasure: \(hits)")
            #expect(try world.count("SELECT count(*) FROM child_records WHERE child_id = $1", [child]) == 0)
            #expect(try world.count("SELECT count(*) FROM family_members WHERE child_id = $1", [child]) == 0)
            #expect(
                try world.count("SELECT count(*) FROM family_links WHERE member_a = $1 OR member_b = $1", [child]) == 0)
            #expect(try world.count("SELECT count(*) FROM family_keys WHERE member = $1", [child]) == 0)
            let noted = Set(
                try connection.query("SELECT member FROM family_changes WHERE member IS NOT NULL").map {
                    try $0.decode(String.self, at: 0)
                })
            #expect(sharingKeys.isSubset(of: noted), "whoever shared a key is regrouped at the next families run")
            #expect(try world.count("SELECT count(*) FROM indicators WHERE child_id = $1", [child]) == 0)
            #expect(try world.count("SELECT count(*) FROM flag_evidence WHERE child_id = $1", [child]) == 0)
            #expect(
                try world.count("SELECT count(*) FROM outreach_flag_export WHERE $1 = ANY(child_ids)", [child]) == 0)
            #expect(
                try world.count("SELECT count(*) FROM children WHERE child_id = $1 AND retired_at IS NOT NULL", [child])
                    == 1)
            #expect(try world.count("SELECT count(*) FROM quarantined_rows WHERE raw_line = '[erased]'") == 1)
            #expect(
                try world.count("SELECT count(*) FROM flags") >= flagsBefore - 1,
                "the family's flag keeps its other evidence")
            #expect(
                try world.count("SELECT count(*) FROM erasure_tombstone_keys") == 2,
                "the UPN, and name with date of birth")
            #expect(
                try world.count(
                    "SELECT count(*) FROM access_audit WHERE action = 'erase' AND $1 = ANY(subject_ids)", [child]) == 1)
            // Erasing twice says so.
            #expect(throws: PrivacyError.self) {
                try Erasure(connection: connection).erase(child: child, reason: "again please")
            }
            // The pipeline runs on without the child and without errors.
            try world.cycle()
            #expect(try Self.search(connection, for: Planted.needles).isEmpty)
            let everyone = try FamilyGrouper(connection: connection).regroup(everyone: true)
            #expect(!everyone.changed, "after the erasure, the incremental families run left what a full run gives")

            // The partner sends the child again (a new file, so not a duplicate), with a new pupil beside her.
            let resend = world.folder.appendingPathComponent("resend-school.csv")
            try Self.write(
                .schoolAttendance,
                rows: [
                    [
                        "UPN": "", "LegalForename": "ZEPHYRINE", "LegalSurname": "QUILLFEATHER OYELARAN",
                        "DateOfBirth": "2016-02-29",
                        "Gender": "F", "AddressLine1": "1 New Road", "Town": "Norwich", "Postcode": "NR1 1AA",
                        "SchoolName": "Wherry High School",
                        "PeriodStart": "2026-09-03", "PeriodEnd": "2026-09-20", "SessionsPossible": "20",
                        "SessionsAttended": "20",
                    ],
                    [
                        "UPN": Planted.upn.value, "LegalForename": "Zeph", "LegalSurname": "Smith",
                        "DateOfBirth": "2016-03-01",
                        "Gender": "F", "AddressLine1": "1 New Road", "Town": "Norwich", "Postcode": "NR1 1AA",
                        "SchoolName": "Wherry High School",
                        "PeriodStart": "2026-09-03", "PeriodEnd": "2026-09-20", "SessionsPossible": "20",
                        "SessionsAttended": "20",
                    ],
                    [
                        "UPN": "", "LegalForename": "Ottoline", "LegalSurname": "Brackenbury",
                        "DateOfBirth": "2015-06-01", "Gender": "F",
                        "AddressLine1": "2 New Road", "Town": "Norwich", "Postcode": "NR1 1AA",
                        "SchoolName": "Wherry High School",
                        "PeriodStart": "2026-09-03", "PeriodEnd": "2026-09-20", "SessionsPossible": "20",
                        "SessionsAttended": "19",
                    ],
                ], to: resend)
            let school = try world.definition(.schoolAttendance)
            guard
                case .loaded(let batch) = try FeedLoader(
                    definition: school, today: CalendarDate(year: 2026, month: 9, day: 21)!
                )
                .load(path: resend.path, connection: connection)
            else { Issue.record("the re-sent file was not loaded"); return }
            #expect(batch.rowsRead == 3 && batch.rowsLoaded == 1 && batch.rowsQuarantined == 2)
            #expect(
                try world.count(
                    "SELECT count(*) FROM quarantined_rows WHERE batch_id = $1 AND reason LIKE 'erased subject: needs a decision%'",
                    [batch.batchID]) == 2)
            #expect(try Self.search(connection, for: Planted.needles).isEmpty, "held rows keep no content")
            let held = try Erasure(connection: connection).held()
            #expect(held.count == 2 && held.allSatisfy { $0.batchID == batch.batchID })
            let listing = try FamilyConnectBinary.run(["erase", "held", "--database", database.connectionString])
            #expect(listing.status == 0 && listing.stdout.contains("2 rows held"))

            // A person decides the child may come back: later files load.
            let tombstone = try #require(held.first?.tombstoneID)
            let lift = try FamilyConnectBinary.run([
                "erase", "lift", String(tombstone), "--reason", "erasure withdrawn by the requester", "--database",
                database.connectionString,
            ])
            #expect(lift.status == 0, "\(lift.stderr)")
            #expect(try world.count("SELECT count(*) FROM erasure_tombstone_keys") == 0)
            let third = world.folder.appendingPathComponent("third-school.csv")
            try Self.write(
                .schoolAttendance,
                rows: [
                    [
                        "UPN": Planted.upn.value, "LegalForename": Planted.given, "LegalSurname": Planted.family,
                        "DateOfBirth": "2016-02-29",
                        "Gender": "F", "AddressLine1": "1 New Road", "Town": "Norwich", "Postcode": "NR1 1AA",
                        "SchoolName": "Wherry High School",
                        "PeriodStart": "2026-09-21", "PeriodEnd": "2026-09-30", "SessionsPossible": "14",
                        "SessionsAttended": "14",
                    ]
                ], to: third)
            guard
                case .loaded(let back) = try FeedLoader(
                    definition: school, today: CalendarDate(year: 2026, month: 10, day: 1)!
                )
                .load(path: third.path, connection: connection)
            else { Issue.record("the third file was not loaded"); return }
            #expect(back.rowsLoaded == 1 && back.rowsQuarantined == 0)
        }
    }

    @Test("tombstone keys: the same child under other spellings, never the plain values")
    func fingerprints() {
        let secret = String(repeating: "k", count: 40)
        let sent = ErasureFingerprint.Values(
            nhsNumber: nil, nhsNumberRaw: "473 291 5866", upn: nil, upnRaw: "b801200005001", givenNames: ["ZOË"],
            familyNames: ["O'Brien-Smith"], dob: "2016-02-29")
        let stored = ErasureFingerprint.Values(
            nhsNumber: "4732915866", upn: "B801200005001", givenNames: ["Zoe"], familyNames: ["OBRIEN SMITH"],
            dob: "2016-02-29")
        let a = ErasureFingerprint.keys(sent, secret: secret)
        let b = ErasureFingerprint.keys(stored, secret: secret)
        #expect(a == b && a.count == 3)
        #expect(a.allSatisfy { $0.digest.count == 64 && !$0.digest.contains("4732915866") })
        #expect(
            ErasureFingerprint.keys(stored, secret: secret + "x").isDisjoint(with: b),
            "keyed: another secret, other hashes")
        // HMAC-SHA-256 test vector (RFC 4231, case 2).
        #expect(
            ErasureFingerprint.hmacHex(secret: "Jefe", message: "what do ya want for nothing?")
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
