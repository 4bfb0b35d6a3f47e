import Feeds
import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// A subject access request (UK GDPR Art 15): everything held about one child, as JSON.
///
/// Sections: the child's ids (every id merged into it) and their history; every source record
/// assigned to them, with its batch and the day its retention period starts; quarantined rows that
/// are probably theirs; the links between their records with weights and the field-by-field
/// comparison; review pairs and decisions; the families they are or were in (membership, links
/// involving them, history); the indicators read from their records; the flags of those families
/// with their rules, the evidence about this child, events and exports; and every access-audit
/// entry naming the child, one of their records, families or flags, or a review pair of theirs
/// (this request's own entry included).
///
/// Other people: other children's ids are replaced by "another member", and flag evidence about
/// other children is counted, not shown. Carer fields of the child's own records (the parent named
/// on a partner's row) are included as they are: the person disclosing decides what to redact.
public struct SubjectAccess {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    public struct Result: Sendable {
        public var childID: String
        public var childIDs: [String]
        public var records: Int
        /// UTF-8 JSON, pretty-printed with sorted keys.
        public var json: Data
    }

    public func report(child asked: String, reason: String) throws -> Result {
        guard AccessLog.isAcceptable(reason: reason) else {
            throw PrivacyError("a subject access request needs a reason")
        }
        return try connection.transaction { connection in
            let askedFor = asked.uppercased()
            guard
                let resolved = try connection.query(
                    "SELECT resolves_to FROM child_id_resolution WHERE child_id = $1", [askedFor]
                ).first
            else { throw PrivacyError("no child \(askedFor)") }
            let childID = try resolved.decode(String.self, at: 0)
            let ids = try connection.query(
                "SELECT child_id FROM child_id_resolution WHERE resolves_to = $1 ORDER BY child_id", [childID]
            ).map { try $0.decode(String.self, at: 0) }
            let records = try connection.query(
                "SELECT record_id FROM child_records WHERE child_id = ANY($1::text[]) ORDER BY record_id", [ids]
            ).map { try $0.decode(Int64.self, at: 0) }
            try AccessLog.record(connection, action: "sar", subjects: ids, reason: reason)
            let subject = try SubjectValues.read(connection, recordIDs: records, secret: nil)
            let (quarantine, quarantineParameters) = subject.quarantineCondition(first: 6)
            let text = try connection.execute(
                """
                WITH ids AS (SELECT unnest($1::text[]) AS child_id),
                recs AS (SELECT unnest($2::bigint[]) AS id),
                fams AS (
                    SELECT family_id FROM family_members WHERE child_id IN (SELECT child_id FROM ids)
                    UNION SELECT from_family FROM family_membership_events
                          WHERE child_id IN (SELECT child_id FROM ids) AND from_family IS NOT NULL
                    UNION SELECT to_family FROM family_membership_events
                          WHERE child_id IN (SELECT child_id FROM ids) AND to_family IS NOT NULL),
                inds AS (SELECT id FROM indicators WHERE record_id IN (SELECT id FROM recs) OR child_id IN (SELECT child_id FROM ids)),
                flgs AS (
                    SELECT flag_id FROM flags WHERE family_id IN (SELECT family_id FROM fams)
                    UNION SELECT flag_id FROM flag_evidence
                          WHERE indicator_id IN (SELECT id FROM inds) OR child_id IN (SELECT child_id FROM ids)),
                pairs AS (SELECT id FROM review_pairs WHERE record_a IN (SELECT id FROM recs) OR record_b IN (SELECT id FROM recs)),
                subjects AS (
                    SELECT child_id AS s FROM ids
                    UNION SELECT 'record:' || id FROM recs
                    UNION SELECT family_id FROM fams
                    UNION SELECT flag_id FROM flgs
                    UNION SELECT 'pair:' || id FROM pairs)
                SELECT json_build_object(
                    'about', 'Everything familyconnect holds about one child, for a subject access request.',
                    'generated_at', now(),
                    'generated_by', session_user,
                    'reason', $3::text,
                    'asked_for', $4::text,
                    'child_id', $5::text,
                    'all_ids_of_this_child', $1::text[],
                    'note_on_other_people', 'Other children''s ids are replaced by "another member" (or "another child", '
                        || '"another record"); flag evidence about other children is counted, not shown. Carer fields of the child''s records are about the carer named by the partner.',
                    'child_ids', (SELECT json_agg(row_to_json(c) ORDER BY c.child_id) FROM children c
                                  WHERE c.child_id IN (SELECT child_id FROM ids)),
                    'child_id_events', (SELECT json_agg(json_build_object('child_id', e.child_id, 'event', e.event,
                                            'other_child_id', CASE WHEN e.other_child_id IS NULL OR e.other_child_id IN (SELECT child_id FROM ids)
                                                                   THEN e.other_child_id ELSE 'another child id' END,
                                            'at', e.at, 'records', e.records) ORDER BY e.id)
                                        FROM child_id_events e WHERE e.child_id IN (SELECT child_id FROM ids)),
                    'source_records', (SELECT json_agg(json_build_object(
                                            'record', row_to_json(sr),
                                            'batch', json_build_object('id', b.id, 'feed', b.feed, 'file', b.source_name,
                                                                       'loaded_at', b.committed_at),
                                            'child_id', cr.child_id) ORDER BY sr.id)
                                       FROM source_records sr JOIN feed_batches b ON b.id = sr.batch_id
                                       LEFT JOIN child_records cr ON cr.record_id = sr.id
                                       WHERE sr.id IN (SELECT id FROM recs)),
                    'quarantined_rows', (SELECT json_agg(json_build_object('id', q.id, 'batch_id', q.batch_id,
                                            'line_number', q.line_number, 'field', q.field, 'reason', q.reason, 'raw_line', q.raw_line)
                                            ORDER BY q.id)
                                         FROM quarantined_rows q WHERE \(quarantine)),
                    'record_links', (SELECT json_agg(json_build_object('record_a', l.record_a, 'record_b', l.record_b,
                                        'method', l.method, 'vouched_by', l.vouched_by, 'weight', l.weight, 'comparison', record_link_comparison(l), 'run_id', l.run_id)
                                        ORDER BY l.record_a, l.record_b)
                                     FROM record_links l WHERE l.record_a IN (SELECT id FROM recs) OR l.record_b IN (SELECT id FROM recs)),
                    'review_pairs', (SELECT json_agg(row_to_json(p) ORDER BY p.id) FROM review_pairs p WHERE p.id IN (SELECT id FROM pairs)),
                    'review_decisions', (SELECT json_agg(row_to_json(d) ORDER BY d.decided_at) FROM review_decisions d
                                         WHERE d.record_a IN (SELECT id FROM recs) OR d.record_b IN (SELECT id FROM recs)),
                    'families', (SELECT json_agg(json_build_object(
                                    'family_id', f.family_id, 'minted_at', f.minted_at, 'merged_into', f.merged_into,
                                    'retired_at', f.retired_at,
                                    'member_now', EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.family_id
                                                          AND m.child_id IN (SELECT child_id FROM ids)),
                                    'other_members_now', (SELECT count(*) FROM family_members m WHERE m.family_id = f.family_id
                                                          AND (m.child_id IS NULL OR m.child_id NOT IN (SELECT child_id FROM ids))),
                                    'home_is_this_childs_record', f.address_record_id IN (SELECT id FROM recs),
                                    'links', (SELECT json_agg(json_build_object(
                                                'member_a', CASE WHEN l.member_a IN (SELECT child_id FROM ids) THEN l.member_a ELSE 'another member' END,
                                                'member_b', CASE WHEN l.member_b IN (SELECT child_id FROM ids) THEN l.member_b ELSE 'another member' END,
                                                'basis', l.basis,
                                                'record_a', CASE WHEN l.record_a IN (SELECT id FROM recs) THEN l.record_a END,
                                                'record_b', CASE WHEN l.record_b IN (SELECT id FROM recs) THEN l.record_b END,
                                                'overlap_from', l.overlap_from, 'overlap_to', l.overlap_to) ORDER BY l.basis)
                                              FROM family_links l WHERE l.family_id = f.family_id
                                               AND (l.member_a IN (SELECT child_id FROM ids) OR l.member_b IN (SELECT child_id FROM ids))),
                                    'membership_events', (SELECT json_agg(json_build_object('event', e.event, 'from_family', e.from_family,
                                                            'to_family', e.to_family, 'reason', e.reason, 'evidence_date', e.evidence_date,
                                                            'at', e.at) ORDER BY e.id)
                                                          FROM family_membership_events e
                                                          WHERE e.child_id IN (SELECT child_id FROM ids)
                                                            AND (e.from_family = f.family_id OR e.to_family = f.family_id)))
                                    ORDER BY f.family_id)
                                 FROM families f WHERE f.family_id IN (SELECT family_id FROM fams)),
                    'indicators', (SELECT json_agg(row_to_json(i) ORDER BY i.id) FROM indicators i WHERE i.id IN (SELECT id FROM inds)),
                    'flags', (SELECT json_agg(json_build_object(
                                  'flag', row_to_json(fl),
                                  'rules', (SELECT json_agg(row_to_json(r) ORDER BY r.first_fired_at, r.rule_name)
                                            FROM flag_rules r WHERE r.flag_id = fl.flag_id),
                                  'evidence_about_this_child', (SELECT json_agg(row_to_json(e) ORDER BY e.attached_at, e.indicator_id)
                                                                FROM flag_evidence e WHERE e.flag_id = fl.flag_id
                                                                 AND (e.indicator_id IN (SELECT id FROM inds)
                                                                      OR e.child_id IN (SELECT child_id FROM ids))),
                                  'evidence_about_others', (SELECT count(*) FROM flag_evidence e WHERE e.flag_id = fl.flag_id
                                                            AND e.indicator_id NOT IN (SELECT id FROM inds)
                                                            AND (e.child_id IS NULL OR e.child_id NOT IN (SELECT child_id FROM ids))),
                                  'events', (SELECT json_agg(row_to_json(ev) ORDER BY ev.id) FROM flag_events ev WHERE ev.flag_id = fl.flag_id),
                                  'exports', (SELECT json_agg(json_build_object('team', l.team, 'file', x.file_name,
                                                  'exported_at', l.exported_at) ORDER BY l.exported_at)
                                              FROM export_ledger l JOIN export_files x ON x.id = l.export_file_id
                                              WHERE l.flag_id = fl.flag_id)) ORDER BY fl.flag_id)
                              FROM flags fl WHERE fl.flag_id IN (SELECT flag_id FROM flgs)),
                    'access_audit', (SELECT json_agg(json_build_object(
                                        'id', a.id, 'at', a.at, 'database_role', a.database_role, 'os_user', a.os_user,
                                        'action', a.action, 'reason', a.reason,
                                        'subject_ids', (SELECT json_agg(CASE
                                                WHEN x IN (SELECT s FROM subjects) THEN x
                                                WHEN x ~ '^C[0-9A-HJKMNP-TV-Z]{9}$' THEN 'another child'
                                                WHEN x LIKE 'record:%' THEN 'another record'
                                                ELSE x END) FROM unnest(a.subject_ids) x)) ORDER BY a.id)
                                     FROM access_audit a WHERE a.subject_ids && (SELECT array_agg(s) FROM subjects))
                )::text
                """, [ids, records.map { Int($0) }, reason, askedFor, childID] + quarantineParameters
            ).scalar(String.self)
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            let json = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return Result(childID: childID, childIDs: ids, records: records.count, json: json)
        }
    }

    /// Writes the report to a new file readable by its owner only (0600); an existing file is
    /// never overwritten.
    public static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PrivacyError(
                "\(path): cannot create the file (it must not exist yet): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return fsync(fd) == 0
        }
        guard ok else {
            unlink(path)
            throw PrivacyError("\(path): cannot write the file")
        }
    }
}
