import Config
import Families
import Feeds
import Foundation
import Postgres

/// Outreach teams and the areas they cover, from `schemas/rules/teams.conf`: a family belongs to
/// the team covering its home's postcode district; failing that, the team covering a school its
/// children attend; failing that, the fallback team (if one is named).
public struct TeamDirectory: Sendable, Equatable {
    public struct Team: Sendable, Equatable {
        public var key: String
        public var name: String
        public var postcodeDistricts: [String]
        public var schools: [String]
        /// Where files are delivered after they are written to the outbox (nil: collected from the outbox).
        public var delivery: Delivery?
    }

    /// A team's delivery target: an https:// URL (PUT into a folder, or POST) or an sftp:// folder, with
    /// the same settings as a remote feed source. Secrets are never in the file: `credentials` and the key
    /// files are paths, or `credential:NAME` for systemd's `$CREDENTIALS_DIRECTORY`, read at each delivery.
    public struct Delivery: Sendable, Equatable {
        public var remote: RemoteSourceSettings
        public var method: RemoteFetcher.UploadMethod = .put
    }

    public var teams: [Team]
    public var fallbackTeam: String?
    /// Default outbox folder (the command line's `--outbox` wins).
    public var outbox: String?

    public func team(_ key: String) -> Team? { teams.first { $0.key == key } }

    public static func load(path: String) throws(ConfigFile.Error) -> TeamDirectory {
        try read(SettingsReader(path: path))
    }

    public static func parse(path: String, text: String) throws(ConfigFile.Error) -> TeamDirectory {
        try read(SettingsReader(ConfigFile(path: path, text: text)))
    }

    private static func read(_ reader: SettingsReader) throws(ConfigFile.Error) -> TeamDirectory {
        var reader = reader
        var directory = TeamDirectory(teams: [], fallbackTeam: nil, outbox: nil)
        directory.outbox = reader.string("export", "outbox")?.value
        let fallback = reader.string("export", "fallback_team")
        var districtOwner: [String: String] = [:]
        var schoolOwner: [String: String] = [:]
        for key in reader.sections(prefixed: "team.") {
            let s = "team." + key
            guard key.range(of: "^[a-z0-9_]+$", options: .regularExpression) != nil else {
                throw reader.file.error(
                    reader.file.entries(in: s).first, "a team key is lower-case letters, digits and _")
            }
            let name = try reader.requiredString(s, "name").value
            var districts: [String] = []
            if let (values, entry) = reader.list(s, "postcode_districts") {
                for raw in values {
                    let district = raw.uppercased()
                    guard district.range(of: "^[A-Z]{1,2}[0-9][0-9A-Z]?$", options: .regularExpression) != nil else {
                        throw reader.file.error(
                            entry, "'\(raw)' is not a postcode district (the outward code, e.g. NR31)")
                    }
                    if let owner = districtOwner[district] {
                        throw reader.file.error(entry, "\(district) is already covered by team \(owner)")
                    }
                    districtOwner[district] = key
                    districts.append(district)
                }
            }
            var schools: [String] = []
            if let (values, entry) = reader.list(s, "schools") {
                for school in values {
                    if let owner = schoolOwner[school.lowercased()] {
                        throw reader.file.error(entry, "'\(school)' is already covered by team \(owner)")
                    }
                    schoolOwner[school.lowercased()] = key
                    schools.append(school)
                }
            }
            let delivery = try readDelivery(&reader, section: s)
            directory.teams.append(
                Team(key: key, name: name, postcodeDistricts: districts, schools: schools, delivery: delivery))
        }
        if let (value, entry) = fallback {
            guard directory.teams.contains(where: { $0.key == value }) else {
                throw reader.file.error(entry, "no [team.\(value)] section")
            }
            directory.fallbackTeam = value
        }
        if directory.teams.isEmpty {
            throw ConfigFile.Error(file: reader.file.path, line: nil, key: nil, message: "no [team.KEY] sections")
        }
        try reader.finish { $0 == "export" || $0.hasPrefix("team.") }
        return directory
    }

    static let deliveryKeys = [
        "delivery_method", "delivery_credentials", "delivery_ca_file", "delivery_client_certificate",
        "delivery_client_key",
        "delivery_ssh_private_key", "delivery_known_hosts", "delivery_timeout_seconds", "delivery_retries",
    ]

    /// `delivery = none | https://… | sftp://…` and its `delivery_*` keys.
    private static func readDelivery(
        _ reader: inout SettingsReader, section s: String
    ) throws(ConfigFile.Error) -> Delivery? {
        guard let (value, entry) = reader.string(s, "delivery"), value != "none" else {
            if let stray = deliveryKeys.compactMap({ reader.file.entry(s, $0) }).first {
                throw reader.file.error(stray, "only used with delivery = https://… or sftp://…")
            }
            return nil
        }
        let sftp = value.hasPrefix("sftp://")
        guard sftp || value.hasPrefix("https://") else {
            throw reader.file.error(entry, "delivery is none, an https:// URL or an sftp:// folder")
        }
        if let authority = value.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first,
            let at = authority.lastIndex(of: "@"), authority[..<at].contains(":")
        {
            throw reader.file.error(
                entry, "put credentials in a credentials file (delivery_credentials), not in the URL")
        }
        var delivery = Delivery(remote: RemoteSourceSettings(url: value, timeoutSeconds: 300))
        if let (method, methodEntry) = reader.string(s, "delivery_method") {
            guard let parsed = RemoteFetcher.UploadMethod(rawValue: method), !sftp else {
                throw reader.file.error(
                    methodEntry,
                    sftp ? "SFTP has no method (the file is uploaded, then renamed)" : "expected put or post")
            }
            delivery.method = parsed
        }
        if (sftp || delivery.method == .put) && !value.hasSuffix("/") {
            throw reader.file.error(
                entry, "\(sftp ? "an sftp" : "a PUT") delivery names a folder: end the URL with '/'")
        }
        delivery.remote.credentials = reader.string(s, "delivery_credentials")?.value
        delivery.remote.caFile = reader.string(s, "delivery_ca_file")?.value
        delivery.remote.clientCertificate = reader.string(s, "delivery_client_certificate")?.value
        delivery.remote.clientKey = reader.string(s, "delivery_client_key")?.value
        delivery.remote.sshPrivateKey = reader.string(s, "delivery_ssh_private_key")?.value
        delivery.remote.knownHosts = reader.string(s, "delivery_known_hosts")?.value
        delivery.remote.timeoutSeconds =
            try reader.integer(s, "delivery_timeout_seconds", range: 1...86400) ?? delivery.remote.timeoutSeconds
        delivery.remote.retries = try reader.integer(s, "delivery_retries", range: 0...20) ?? delivery.remote.retries
        if sftp {
            guard delivery.remote.knownHosts != nil else {
                throw reader.file.error(
                    entry, "an sftp delivery needs delivery_known_hosts: the server's host key is always verified")
            }
            guard delivery.remote.sshPrivateKey != nil || delivery.remote.credentials != nil else {
                throw reader.file.error(
                    entry, "an sftp delivery needs delivery_ssh_private_key or delivery_credentials")
            }
        }
        return delivery
    }
}

/// Copies the team directory into the database and works out each live family's team. After the
/// first assignment with a directory, only families whose inputs changed are worked out again: a
/// family's team depends only on its home and its children's latest school records, and triggers
/// note every change to those (`flag_changes`, migration 0060). The result is what assigning every
/// family would give.
public struct TeamAssigner {
    let connection: PostgresConnection
    let directory: TeamDirectory
    /// Above this many families needing a school, the latest schools are read in one pass over every
    /// school record rather than child by child (`fewFamiliesNeedingASchool`; tests set both ways).
    let onePassAbove: Int

    public init(connection: PostgresConnection, directory: TeamDirectory) {
        self.init(connection: connection, directory: directory, onePassAbove: Self.fewFamiliesNeedingASchool)
    }

    init(connection: PostgresConnection, directory: TeamDirectory, onePassAbove: Int) {
        self.connection = connection
        self.directory = directory
        self.onePassAbove = onePassAbove
    }

    /// Everything in the directory the assignment reads, as text.
    var fingerprint: String {
        directory.teams.map { team in
            [
                team.key, team.postcodeDistricts.joined(separator: ","),
                team.schools.map { $0.lowercased() }.joined(separator: ","),
            ]
            .joined(separator: "\u{1F}")
        }.joined(separator: "\u{1E}") + "\u{1E}fallback=" + (directory.fallbackTeam ?? "")
    }

    /// Assigns in a transaction of its own, under the export's lock (an export assigns too, just
    /// before it reads the teams): for the flags stage, which runs it beside the flag rules on a
    /// second connection. It reads families, their members and school records, and writes only the
    /// team tables, which the flag rules never read. The settings are those of a flag run's.
    public static func assignOnItsOwn(
        _ connection: PostgresConnection, directory: TeamDirectory
    ) throws -> [String: Int] {
        try connection.transaction { connection in
            try connection.advisoryTransactionLock(Exporter.lockKey)
            try connection.execute("SET LOCAL jit = off")
            try connection.execute("SET LOCAL work_mem = '256MB'")
            return try TeamAssigner(connection: connection, directory: directory).assign()
        }
    }

    /// Returns the families (re)assigned this time, per team.
    @discardableResult
    public func assign() throws -> [String: Int] {
        try storeDirectory()
        let everything =
            try connection.query("SELECT fingerprint FROM team_state").first?.decode(String.self, at: 0) != fingerprint
        if everything {
            try connection.execute("DELETE FROM flag_changes WHERE reader = 'teams'")
        } else {
            try connection.execute("CREATE TEMP TABLE team_dirty_families (family_id text PRIMARY KEY) ON COMMIT DROP")
            let dirty = try connection.execute(
                """
                WITH taken AS (DELETE FROM flag_changes WHERE reader = 'teams' RETURNING family_id, child_id)
                INSERT INTO team_dirty_families
                SELECT family_id FROM taken WHERE family_id IS NOT NULL
                UNION SELECT m.family_id FROM taken t JOIN family_members m ON m.child_id = t.child_id
                RETURNING family_id
                """
            ).rows.count
            if dirty == 0 { return [:] }
            // Its size, so the reads below start from it (a merge with every member otherwise).
            try connection.execute("ANALYZE team_dirty_families")
        }
        let perTeam = try assign(everything: everything)
        try connection.execute(
            """
            INSERT INTO team_state (fingerprint) VALUES ($1)
            ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint WHERE team_state.fingerprint <> excluded.fingerprint
            """, [fingerprint])
        return perTeam
    }

    /// Each member child's family and the school on its latest school record (by evidence date, then
    /// record id), for the families in `team_school_families`: in one pass over the school records
    /// when many families need a school …
    static let latestSchoolOfManyFamilies = """
        SELECT DISTINCT ON (cr.child_id) m.family_id, sr.facts->>'school_name'
        FROM team_school_families s
        JOIN family_members m ON m.family_id = s.family_id
        JOIN child_records cr ON cr.child_id = m.child_id
        JOIN source_records sr ON sr.id = cr.record_id
        JOIN feed_batches b ON b.id = sr.batch_id
        CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
        WHERE sr.facts ? 'school_name'
        ORDER BY cr.child_id, p.ends_on DESC, sr.id DESC
        """

    /// … and child by child through the indexes when few do (the usual case: a school decides only
    /// for families whose home district no team covers; 64 of 203,920 families at 1M records). The
    /// members are fixed first (a materialised CTE): with statistics a day-one write left stale, the
    /// planner otherwise looked up the latest school of every member of every family and only then
    /// kept those in scope (9 s instead of a fraction of one at 1M records).
    static let latestSchoolOfFewFamilies = """
        WITH scope AS MATERIALIZED (
            SELECT m.family_id, m.child_id
            FROM team_school_families s JOIN family_members m ON m.family_id = s.family_id
            WHERE m.child_id IS NOT NULL)
        SELECT m.family_id, s.school
        FROM scope m
        JOIN LATERAL (
            SELECT sr.facts->>'school_name' AS school
            FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id
            JOIN feed_batches b ON b.id = sr.batch_id
            CROSS JOIN LATERAL record_evidence_period(sr.kind, sr.facts, b.committed_at) p
            WHERE cr.child_id = m.child_id AND sr.facts ? 'school_name'
            ORDER BY p.ends_on DESC, sr.id DESC LIMIT 1) s ON true
        """

    /// Above this many families needing a school, one pass over every school record is cheaper than a
    /// look-up per child (at 1M records the pass took about 3 s for 203,920 families).
    static let fewFamiliesNeedingASchool = 20_000

    /// The directory into the database, only where it differs (an unchanged directory writes nothing).
    private func storeDirectory() throws {
        var storedTeams: Set<String> = []
        for row in try connection.query("SELECT team || '|' || name || '|' || is_fallback::text FROM outreach_teams") {
            storedTeams.insert(try row.decode(String.self, at: 0))
        }
        var storedAreas: Set<String> = []
        for row in try connection.query("SELECT team || '|' || kind || '|' || value FROM outreach_team_areas") {
            storedAreas.insert(try row.decode(String.self, at: 0))
        }
        let wantedTeams = Set(directory.teams.map { "\($0.key)|\($0.name)|\($0.key == directory.fallbackTeam)" })
        let wantedAreas = Set(
            directory.teams.flatMap { team in
                team.postcodeDistricts.map { "\(team.key)|postcode_district|\($0)" }
                    + team.schools.map { "\(team.key)|school|\($0)" }
            })
        guard storedTeams != wantedTeams || storedAreas != wantedAreas else { return }
        try connection.execute("DELETE FROM outreach_team_areas")
        try connection.execute(
            "DELETE FROM outreach_teams WHERE NOT (team = ANY($1::text[]))", [directory.teams.map(\.key)])
        for team in directory.teams {
            try connection.execute(
                """
                INSERT INTO outreach_teams (team, name, is_fallback) VALUES ($1, $2, $3)
                ON CONFLICT (team) DO UPDATE SET name = excluded.name, is_fallback = excluded.is_fallback, updated_at = now()
                """, [team.key, team.name, team.key == directory.fallbackTeam])
            for district in team.postcodeDistricts {
                try connection.execute(
                    "INSERT INTO outreach_team_areas (team, kind, value) VALUES ($1, 'postcode_district', $2)",
                    [team.key, district])
            }
            for school in team.schools {
                try connection.execute(
                    "INSERT INTO outreach_team_areas (team, kind, value) VALUES ($1, 'school', $2)", [team.key, school])
            }
        }
    }

    /// Works out the team of every live family, or of those in `team_dirty_families`, and stores what
    /// differs; a family in scope with no team loses its row.
    private func assign(everything: Bool) throws -> [String: Int] {
        func inScope(_ column: String) -> String {
            everything ? "true" : "\(column) IN (SELECT family_id FROM team_dirty_families)"
        }
        var byDistrict: [String: String] = [:]
        var bySchool: [String: String] = [:]
        for team in directory.teams {
            for district in team.postcodeDistricts { byDistrict[district] = team.key }
            for school in team.schools { bySchool[school.lowercased()] = team.key }
        }
        // Each live family and its home's district.
        var districts: [String: String] = [:]
        var families: [String] = []
        for row in try connection.query(
            """
            SELECT f.family_id, (SELECT split_part(sr.postcode, ' ', 1) FROM source_records sr WHERE sr.id = f.address_record_id)
            FROM families f
            WHERE f.merged_into IS NULL AND f.retired_at IS NULL AND \(inScope("f.family_id"))
            ORDER BY f.family_id
            """)
        {
            let family = try row.decode(String.self, at: 0)
            families.append(family)
            if let district = try row.decode(String?.self, at: 1), !district.isEmpty { districts[family] = district }
        }
        // A school decides only where no team covers the home's district.
        let needingASchool = bySchool.isEmpty ? [] : families.filter { districts[$0].flatMap { byDistrict[$0] } == nil }
        let schools = try latestSchools(of: needingASchool)
        var perTeam: [String: Int] = [:]
        // A first assignment (no team stored) writes the teams straight into their table: there is
        // nothing to compare with or to remove.
        var firstFill = false
        if everything {
            firstFill = try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM family_teams)").scalar(Bool.self)
        }
        if !firstFill {
            try connection.execute(
                "CREATE TEMP TABLE family_teams_now (family_id text PRIMARY KEY, team text, basis text, detail text) ON COMMIT DROP"
            )
        }
        try connection.copyIn(
            firstFill
                ? "COPY family_teams (family_id, team, basis, detail) FROM STDIN" : "COPY family_teams_now FROM STDIN"
        ) { writer in
            for family in families {
                var choice: (team: String, basis: String, detail: String?)?
                if let district = districts[family], let team = byDistrict[district] {
                    choice = (team, "postcode_district", district)
                } else if let attended = schools[family] {
                    let matches = attended.compactMap { school, children in
                        bySchool[school.lowercased()].map { (school, $0, children) }
                    }
                    if let best = matches.max(by: { ($0.2, $1.0) < ($1.2, $0.0) }) {
                        choice = (best.1, "school", best.0)
                    }
                }
                if choice == nil, let fallback = directory.fallbackTeam { choice = (fallback, "fallback", nil) }
                guard let choice else { continue }
                perTeam[choice.team, default: 0] += 1
                try writer.writeRow([family, choice.team, choice.basis, choice.detail])
            }
        }
        if firstFill { return perTeam }
        try connection.execute(
            """
            DELETE FROM family_teams t WHERE \(inScope("t.family_id"))
              AND NOT EXISTS (SELECT 1 FROM family_teams_now n WHERE n.family_id = t.family_id)
            """)
        try connection.execute(
            """
            INSERT INTO family_teams (family_id, team, basis, detail) SELECT family_id, team, basis, detail FROM family_teams_now
            ON CONFLICT (family_id) DO UPDATE SET team = excluded.team, basis = excluded.basis, detail = excluded.detail, assigned_at = now()
            WHERE (family_teams.team, family_teams.basis, family_teams.detail) IS DISTINCT FROM (excluded.team, excluded.basis, excluded.detail)
            """)
        try connection.execute("DROP TABLE family_teams_now")
        return perTeam
    }

    /// For each of these families, how many of its children's latest school records name each school.
    private func latestSchools(of families: [String]) throws -> [String: [String: Int]] {
        guard !families.isEmpty else { return [:] }
        try connection.execute("CREATE TEMP TABLE team_school_families (family_id text PRIMARY KEY) ON COMMIT DROP")
        try connection.copyIn("COPY team_school_families FROM STDIN") { writer in
            for family in families { try writer.writeRow([family]) }
        }
        // Its size, so the reads below start from it.
        try connection.execute("ANALYZE team_school_families")
        var schools: [String: [String: Int]] = [:]
        let query =
            families.count > onePassAbove ? Self.latestSchoolOfManyFamilies : Self.latestSchoolOfFewFamilies
        for row in try connection.query(query) {
            if let school = try row.decode(String?.self, at: 1) {
                schools[try row.decode(String.self, at: 0), default: [:]][school, default: 0] += 1
            }
        }
        try connection.execute("DROP TABLE team_school_families")
        return schools
    }
}
