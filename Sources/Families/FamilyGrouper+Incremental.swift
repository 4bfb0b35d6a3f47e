import Postgres

/// Grouping in proportion to what changed (migration 0080 explains the method).
///
/// Every link, and every guard that withholds one, is decided from the records of members that share
/// a grouping key (an address by postcode, UPRN or town, a carer key, a police incident): the address
/// guards and the newest-evidence rule reach other members only through addresses they share, and
/// the carer guard only through a carer key. So the members connected by shared keys to a changed
/// member, taken to closure, are grouped exactly as a run over every record groups them, and their old
/// families hold no one else. Any change to the grouping code that links through something else must
/// add it to `groupingKeys` and bump `groupingVersion`.
extension FamilyGrouper {
    /// Bumped whenever the grouping code changes what it decides, so the next run regroups everyone.
    static let groupingVersion = 1

    /// What the stored families and keys were computed with.
    var fingerprint: String { "grouping \(Self.groupingVersion) " + settings.json }

    /// Beyond this many noted changes a run regroups everyone (reading the notes would cost as much).
    static let incrementalChangeLimit = 100_000

    /// Families, children and expectant parents over every family.
    struct Totals: Equatable {
        var families = 0
        var children = 0
        var expectantParents = 0

        var members: Int { children + expectantParents }

        init(families: Int = 0, children: Int = 0, expectantParents: Int = 0) {
            (self.families, self.children, self.expectantParents) = (families, children, expectantParents)
        }

        init(_ report: FamilyReport) {
            self.init(families: report.families, children: report.children, expectantParents: report.expectantParents)
        }

        /// These totals with the scope's stored part replaced by what the run made of it.
        func replacing(_ old: Totals, with new: Totals) -> Totals {
            Totals(
                families: families - old.families + new.families, children: children - old.children + new.children,
                expectantParents: expectantParents - old.expectantParents + new.expectantParents)
        }

        func write(to report: inout FamilyReport) {
            (report.families, report.children, report.expectantParents) = (families, children, expectantParents)
        }
    }

    /// How a run was scoped.
    enum RunScope {
        /// Every record read, every key rebuilt.
        case everyone
        /// These members only (keys of the changed ones already replaced).
        case members(Set<String>)
        /// Nothing noted since the last run.
        case nothing
    }

    /// The grouping keys of one record: 64-bit hashes of each key's text, tagged by its number space
    /// (addresses by postcode and by town share one, as `FamilyEvidence.Builder` numbers them). They
    /// are the row's `KeyHashes`, made where it was parsed when it was.
    static func groupingKeys(_ row: FamilyEvidence.ParsedRow) -> [Int64] {
        let hashes = row.keyHashes ?? FamilyEvidence.KeyHashes(row)
        var keys: [Int64] = []
        func add(_ key: Int64?) {
            guard let key, !keys.contains(key) else { return }
            keys.append(key)
        }
        add(hashes.address)
        add(hashes.townAddress)
        add(hashes.nhsCarer)
        add(hashes.niCarer)
        add(hashes.nameDOBCarer)
        add(hashes.phoneCarer)
        add(hashes.incident)
        return keys
    }

    /// FNV-1a, 64 bits: stable across processes (Swift's `Hasher` is seeded per process). A collision
    /// only widens a run's scope.
    static func keyHash(_ tag: UInt8, _ text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        mix(tag)
        for byte in text.utf8 { mix(byte) }
        return Int64(bitPattern: hash)
    }

    /// Collects each member's distinct keys while evidence is read.
    final class KeyCollector {
        var keysByMember: [String: [Int64]] = [:]

        func visit(_ row: FamilyEvidence.ParsedRow) {
            let keys = FamilyGrouper.groupingKeys(row)
            guard !keys.isEmpty else { return }
            Self.addDistinct(keys, to: &keysByMember[row.member, default: []])
        }

        /// A member holds a handful of keys: a linear check, in place, beats a set per member.
        private static func addDistinct(_ keys: [Int64], to held: inout [Int64]) {
            for key in keys where !held.contains(key) { held.append(key) }
        }

        /// Each member's keys, distinct and sorted.
        var distinctKeys: [String: [Int64]] { keysByMember.mapValues { $0.sorted() } }

        /// (member, key) pairs in primary-key order.
        static func pairs(_ keys: [String: [Int64]]) -> [(member: String, key: Int64)] {
            var out: [(member: String, key: Int64)] = []
            for member in keys.keys.sorted() { for key in keys[member]! { out.append((member, key)) } }
            return out
        }
    }

    // MARK: Deciding the scope

    /// Whether this run can regroup only what changed, and if so the members whose evidence changed
    /// (the notes are consumed: this transaction deletes them).
    func plannedScope(forceEveryone: Bool) throws -> (scope: RunScope, changed: Set<String>, totals: Totals) {
        let state = try connection.query(
            "SELECT fingerprint, families, children, expectant_parents FROM family_state"
        ).first
        let stored = try state?.decode(String.self, at: 0)
        let totals = try state.map {
            Totals(
                families: try $0.decode(Int.self, at: 1), children: try $0.decode(Int.self, at: 2),
                expectantParents: try $0.decode(Int.self, at: 3))
        }
        let noted = try connection.execute("SELECT count(*) FROM family_changes").scalar(Int.self)
        guard let totals, !forceEveryone, stored == fingerprint, noted <= Self.incrementalChangeLimit else {
            try connection.execute("DELETE FROM family_changes")
            return (.everyone, [], Totals())
        }
        guard noted > 0 else { return (.nothing, [], totals) }
        var changed: Set<String> = []
        var records: [Int64] = []
        for row in try connection.query("DELETE FROM family_changes RETURNING member, record_id") {
            if let member = try row.decode(String?.self, at: 0) { changed.insert(member) }
            if let record = try row.decode(Int64?.self, at: 1) { records.append(record) }
        }
        if !records.isEmpty {
            for row in try connection.query(
                "SELECT DISTINCT child_id FROM child_records WHERE record_id = ANY($1::bigint[])", [records])
            {
                changed.insert(try row.decode(String.self, at: 0))
            }
        }
        return (changed.isEmpty ? .nothing : .members([]), changed, totals)
    }

    /// The members a scoped run regroups, and the records of the changed ones among them, already
    /// read (in record order) to find their keys: the run reads only the others' records.
    struct ConnectedScope {
        var members: Set<String>
        var changedRows: [FamilyEvidence.ParsedRow]
    }

    /// Replaces the keys of the changed members with those of their records now, and returns every
    /// member connected to them by shared keys (before or after the change), to closure; nil as soon
    /// as they are more than `limit` (a run over every record is then cheaper).
    func connectedMembers(of changed: Set<String>, limit: Int) throws -> ConnectedScope? {
        // Their old keys are followed too.
        let oldPairs = try connection.query(
            "SELECT member, key FROM family_keys WHERE member = ANY($1::text[])", [changed.sorted()]
        ).map { (member: try $0.decode(String.self, at: 0), key: try $0.decode(Int64.self, at: 1)) }
        try fillScope(changed)
        let collector = KeyCollector()
        var changedRows: [FamilyEvidence.ParsedRow] = []
        _ = try loadEvidence(scoped: true) { row in
            collector.visit(row)
            changedRows.append(row)
        }
        let newPairs = KeyCollector.pairs(collector.distinctKeys)
        try replaceKeys(old: oldPairs, new: newPairs)

        var members = changed
        var seen = Set(oldPairs.map(\.key)).union(newPairs.map(\.key))
        var keyFrontier = Array(seen)
        var memberFrontier: [String] = []
        while !keyFrontier.isEmpty {
            memberFrontier = try holders(of: keyFrontier).filter { members.insert($0).inserted }
            if members.count > limit { return nil }
            keyFrontier = try keys(of: memberFrontier).filter { seen.insert($0).inserted }
        }
        return ConnectedScope(members: members, changedRows: changedRows)
    }

    private func keys(of members: [String]) throws -> [Int64] {
        guard !members.isEmpty else { return [] }
        return try connection.query(
            "SELECT DISTINCT key FROM family_keys WHERE member = ANY($1::text[])", [members]
        ).map { try $0.decode(Int64.self, at: 0) }
    }

    private func holders(of keys: [Int64]) throws -> [String] {
        try connection.query(
            "SELECT DISTINCT member FROM family_keys WHERE key = ANY($1::bigint[])", [keys]
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// Lists the records of `members` in the temporary table `loadEvidence(scoped:)` reads, each
    /// with the child it belongs to when that child is live (not merged away or retired), as the
    /// read over every record decides it: the scoped read then needs no look-up of either.
    func fillScope(_ members: Set<String>) throws {
        try connection.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS family_scope_records (record_id bigint PRIMARY KEY, child_id text)
            ON COMMIT DROP
            """)
        try connection.execute("TRUNCATE family_scope_records")
        let children = members.filter { !$0.hasPrefix("E") }.sorted()
        let expectant = members.filter { $0.hasPrefix("E") }.compactMap { Int64($0.dropFirst()) }
        // Whether a child is live is read once a child, not once a record (every record's child
        // exists: child_records references children).
        try connection.execute(
            """
            INSERT INTO family_scope_records (record_id, child_id)
            SELECT cr.record_id, CASE WHEN c.merged_into IS NULL AND c.retired_at IS NULL THEN cr.child_id END
            FROM children c JOIN child_records cr ON cr.child_id = c.child_id
            WHERE c.child_id = ANY($1::text[])
            """, [children])
        // An antenatal record is read whoever it belongs to; a record listed twice is the same row.
        try connection.execute(
            """
            INSERT INTO family_scope_records (record_id, child_id)
            SELECT sr.id, CASE WHEN c.merged_into IS NULL AND c.retired_at IS NULL THEN cr.child_id END
            FROM source_records sr
            LEFT JOIN child_records cr ON cr.record_id = sr.id
            LEFT JOIN children c ON c.child_id = cr.child_id
            WHERE sr.id = ANY($1::bigint[])
            ON CONFLICT (record_id) DO NOTHING
            """, [expectant])
        try connection.execute("ANALYZE family_scope_records")
    }

    // MARK: Keeping the keys

    /// Replaces the changed members' stored keys (`old`) with their keys now (`new`), writing only the
    /// pairs that differ: most of a changed member's keys stay (a corrected attendance, a record at
    /// the same address), and every row deleted or written is a random insertion into both of the
    /// table's indexes (at 1M records, deleting and rewriting all of them took 0.4 s of a next day).
    func replaceKeys(old: [(member: String, key: Int64)], new: [(member: String, key: Int64)]) throws {
        struct Pair: Hashable {
            var member: String
            var key: Int64
        }
        let before = Set(old.lazy.map { Pair(member: $0.member, key: $0.key) })
        let after = Set(new.lazy.map { Pair(member: $0.member, key: $0.key) })
        let gone = old.filter { !after.contains(Pair(member: $0.member, key: $0.key)) }
        if !gone.isEmpty {
            try connection.execute(
                """
                DELETE FROM family_keys k USING unnest($1::text[], $2::bigint[]) AS g (member, key)
                WHERE k.member = g.member AND k.key = g.key
                """, [gone.map(\.member), gone.map { String($0.key) }])
        }
        try writeKeys(new.filter { !before.contains(Pair(member: $0.member, key: $0.key)) })
    }

    /// Writes (member, key) pairs with COPY.
    func writeKeys(_ pairs: [(member: String, key: Int64)]) throws {
        guard !pairs.isEmpty else { return }
        try connection.copyIn("COPY family_keys (member, key) FROM STDIN") { writer in
            for pair in pairs { try writer.writeRow([pair.member, String(pair.key)]) }
        }
    }

    /// After a run over every record: every member's keys (the fingerprint they were made with is
    /// saved with the run's totals, `saveState`). Only the members whose keys differ from those
    /// stored are rewritten (none, on unchanged data).
    func replaceAllKeys(_ collector: KeyCollector) throws {
        var fresh = collector.distinctKeys
        var stale: [String] = []
        var stored: (member: String, keys: [Int64])? = nil
        func compare() {
            guard let (member, keys) = stored else { return }
            if fresh[member] == keys { fresh[member] = nil } else { stale.append(member) }
        }
        try fetchAll("SELECT member, key FROM family_keys ORDER BY member, key") { result, row in
            let member = AddressKey.string(result.bytes(row, 0))
            let key = result.int64(row, 1) ?? 0
            if stored?.member == member {
                stored!.keys.append(key)
            } else {
                compare()
                stored = (member, [key])
            }
        }
        compare()
        if !stale.isEmpty {
            try connection.execute("DELETE FROM family_keys WHERE member = ANY($1::text[])", [stale])
        }
        try writeKeys(KeyCollector.pairs(fresh))
    }

    func saveState(_ totals: Totals) throws {
        try connection.execute(
            """
            INSERT INTO family_state (fingerprint, families, children, expectant_parents) VALUES ($1, $2, $3, $4)
            ON CONFLICT (singleton) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, families = EXCLUDED.families,
                children = EXCLUDED.children, expectant_parents = EXCLUDED.expectant_parents
            """, [fingerprint, totals.families, totals.children, totals.expectantParents])
    }
}
