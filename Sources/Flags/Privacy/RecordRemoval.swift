import Foundation
import Postgres

/// Removes source records and everything derived from them, in foreign-key order. Shared by the
/// retention purge and by erasure. The caller fills the temporary table `privacy_records (id)`
/// (and, for an erasure, `privacy_children (child_id)`) inside its transaction, holding
/// `PipelineLocks`, then calls `remove`. Returns rows deleted (or changed) per table: counts only.
///
/// What goes, for records R (and children C):
/// - the indicators read from R (and those about C), their rows in `flag_evidence`, the
///   suppressions that rest on them, and every flag left with no evidence at all (with its rules,
///   events, export-ledger and outreach rows);
/// - the grouping keys of the members R belonged to (and of C); family links resting on R (or
///   joining C), antenatal members and their membership events
///   (and C's memberships and membership history); a family's home is cleared if it was on R;
/// - record links, review pairs and decisions and blocking keys (and their digests) of R; R's child assignments; R.
/// Children left with no records are retired (the id stays, never reused: it is not personal data
/// on its own), with a `retired` event; families left with no members are retired likewise.
enum RecordRemoval {
    static func createScratch(_ connection: PostgresConnection, children: Bool) throws {
        try connection.execute("CREATE TEMP TABLE privacy_records (id bigint PRIMARY KEY) ON COMMIT DROP")
        if children {
            try connection.execute("CREATE TEMP TABLE privacy_children (child_id text PRIMARY KEY) ON COMMIT DROP")
        }
    }

    static func remove(_ connection: PostgresConnection, children: Bool) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        func run(_ table: String, _ sql: String, _ parameters: [any PostgresEncodable] = []) throws {
            let affected = try connection.execute(sql, parameters).affectedRows
            counts[table, default: 0] += affected
        }
        let aboutChildren = children ? " OR i.child_id IN (SELECT child_id FROM privacy_children)" : ""
        try connection.execute(
            """
            CREATE TEMP TABLE privacy_indicators ON COMMIT DROP AS
            SELECT i.id FROM indicators i WHERE i.record_id IN (SELECT id FROM privacy_records)\(aboutChildren)
            """)
        try connection.execute("ALTER TABLE privacy_indicators ADD PRIMARY KEY (id)")

        // Flags: evidence first; a flag left with none goes whole.
        let evidenceAboutChildren = children ? " OR e.child_id IN (SELECT child_id FROM privacy_children)" : ""
        let evidence = "e.indicator_id IN (SELECT id FROM privacy_indicators)" + evidenceAboutChildren
        try connection.execute(
            "CREATE TEMP TABLE privacy_flags ON COMMIT DROP AS SELECT DISTINCT e.flag_id FROM flag_evidence e WHERE \(evidence)"
        )
        try run("flag_evidence", "DELETE FROM flag_evidence e WHERE \(evidence)")
        try connection.execute(
            """
            CREATE TEMP TABLE privacy_flags_gone ON COMMIT DROP AS
            SELECT p.flag_id FROM privacy_flags p WHERE NOT EXISTS (SELECT 1 FROM flag_evidence e WHERE e.flag_id = p.flag_id)
            """)
        let gone = "flag_id IN (SELECT flag_id FROM privacy_flags_gone)"
        try run("outreach_flag_export", "DELETE FROM outreach_flag_export WHERE \(gone)")
        try run("export_ledger", "DELETE FROM export_ledger WHERE \(gone)")
        try run("flag_events", "DELETE FROM flag_events WHERE \(gone)")
        try run("flag_rules", "DELETE FROM flag_rules WHERE \(gone)")
        try run("flags", "DELETE FROM flags WHERE \(gone)")
        let suppressionAboutChildren = children ? " OR basis_child_id IN (SELECT child_id FROM privacy_children)" : ""
        try run(
            "flag_suppressions",
            """
            DELETE FROM flag_suppressions WHERE basis_record_id IN (SELECT id FROM privacy_records)
               OR indicator_ids && (SELECT coalesce(array_agg(id), '{}'::bigint[]) FROM privacy_indicators)\(suppressionAboutChildren)
            """)
        try run("indicators", "DELETE FROM indicators WHERE id IN (SELECT id FROM privacy_indicators)")

        // Families.
        counts["family_keys"] = try forgetFamilyKeys(connection, children: children)
        try connection.execute(
            """
            CREATE TEMP TABLE privacy_families ON COMMIT DROP AS
            SELECT DISTINCT family_id FROM family_members
            WHERE expectant_record_id IN (SELECT id FROM privacy_records)\(children ? " OR child_id IN (SELECT child_id FROM privacy_children)" : "")
            """)
        let linkAboutChildren =
            children
            ? " OR member_a IN (SELECT child_id FROM privacy_children) OR member_b IN (SELECT child_id FROM privacy_children)"
            : ""
        try run(
            "family_links",
            """
            DELETE FROM family_links WHERE record_a IN (SELECT id FROM privacy_records)
               OR record_b IN (SELECT id FROM privacy_records)\(linkAboutChildren)
            """)
        try run(
            "family_member_addresses",
            """
            DELETE FROM family_member_addresses WHERE record_id IN (SELECT id FROM privacy_records)\(
                children ? " OR member IN (SELECT child_id FROM privacy_children)" : "")
            """)
        try run(
            "families (home cleared)",
            """
            UPDATE families SET address_record_id = NULL, address_as_of = NULL
            WHERE address_record_id IN (SELECT id FROM privacy_records)
            """)
        let memberAboutChildren = children ? " OR child_id IN (SELECT child_id FROM privacy_children)" : ""
        try run(
            "family_members",
            "DELETE FROM family_members WHERE expectant_record_id IN (SELECT id FROM privacy_records)\(memberAboutChildren)"
        )
        try run(
            "family_membership_events",
            "DELETE FROM family_membership_events WHERE expectant_record_id IN (SELECT id FROM privacy_records)\(memberAboutChildren)"
        )
        if children {
            // What outreach teams were sent keeps the flag, without this child.
            try run(
                "outreach_flag_export (child removed)",
                """
                UPDATE outreach_flag_export o
                SET child_ids = coalesce((SELECT array_agg(c ORDER BY c) FROM unnest(o.child_ids) c
                                          WHERE c NOT IN (SELECT child_id FROM privacy_children)), '{}'::text[])
                WHERE o.child_ids && (SELECT array_agg(child_id) FROM privacy_children)
                """)
        }

        // Resolution.
        let pair = "record_a IN (SELECT id FROM privacy_records) OR record_b IN (SELECT id FROM privacy_records)"
        // A link the incident rule made rests on its companion record too (`vouched_by`).
        try run(
            "record_links", "DELETE FROM record_links WHERE \(pair) OR vouched_by IN (SELECT id FROM privacy_records)")
        try run("review_pairs", "DELETE FROM review_pairs WHERE \(pair)")
        try run("review_decisions", "DELETE FROM review_decisions WHERE \(pair)")
        // No foreign key here (migration 0007): deleted explicitly.
        try run(
            "record_blocking_keys",
            "DELETE FROM record_blocking_keys WHERE record_id IN (SELECT id FROM privacy_records)")
        try run(
            "record_blocking_digests",
            "DELETE FROM record_blocking_digests WHERE record_id IN (SELECT id FROM privacy_records)")
        try connection.execute(
            """
            CREATE TEMP TABLE privacy_affected_children ON COMMIT DROP AS
            SELECT DISTINCT child_id FROM child_records WHERE record_id IN (SELECT id FROM privacy_records)
            """)
        if children {
            try connection.execute(
                "INSERT INTO privacy_affected_children SELECT child_id FROM privacy_children EXCEPT SELECT child_id FROM privacy_affected_children"
            )
        }
        try run("child_records", "DELETE FROM child_records WHERE record_id IN (SELECT id FROM privacy_records)")
        try run("source_records", "DELETE FROM source_records WHERE id IN (SELECT id FROM privacy_records)")

        // Ids left with nothing are retired.
        let retired = try connection.query(
            """
            UPDATE children c SET retired_at = now()
            WHERE c.child_id IN (SELECT child_id FROM privacy_affected_children) AND c.retired_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM child_records r WHERE r.child_id = c.child_id)
            RETURNING c.child_id
            """
        ).map { try $0.decode(String.self, at: 0) }
        if !retired.isEmpty {
            try connection.execute(
                "INSERT INTO child_id_events (child_id, event, records) SELECT id, 'retired', 0 FROM unnest($1::text[]) id",
                [retired])
        }
        counts["children (retired)"] = retired.count
        let emptied = try connection.query(
            """
            UPDATE families f SET retired_at = now()
            WHERE f.family_id IN (SELECT family_id FROM privacy_families) AND f.retired_at IS NULL AND f.merged_into IS NULL
              AND NOT EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.family_id)
            RETURNING f.family_id
            """
        ).map { try $0.decode(String.self, at: 0) }
        if !emptied.isEmpty {
            try connection.execute(
                "INSERT INTO family_id_events (family_id, event, members) SELECT id, 'retired', 0 FROM unnest($1::text[]) id",
                [emptied])
        }
        counts["families (retired)"] = emptied.count
        for table in [
            "privacy_indicators", "privacy_flags", "privacy_flags_gone", "privacy_families",
            "privacy_affected_children",
        ] {
            try connection.execute("DROP TABLE \(table)")  // fixed names above, never input
        }
        return counts.filter { $0.value > 0 }
    }

    /// The grouping keys of every member the records belonged to (hashes made from their personal
    /// data) go now, not at the next families run; `family_keys_forget` notes who shared them first,
    /// so that run still regroups everything they connected.
    private static func forgetFamilyKeys(_ connection: PostgresConnection, children: Bool) throws -> Int {
        try connection.execute(
            """
            SELECT family_keys_forget(ARRAY(
                SELECT 'E' || id FROM privacy_records
                UNION SELECT child_id FROM child_records WHERE record_id IN (SELECT id FROM privacy_records)\(
                    children ? " UNION SELECT child_id FROM privacy_children" : "")))
            """
        ).scalar(Int.self)
    }
}
