import Digest
import Foundation
import Identifiers
import Postgres

/// One identifying value of an erased child, as stored in a tombstone: its kind and the keyed
/// hash (HMAC-SHA-256, hex) of its normalised form. Never the value itself.
public struct ErasureKey: Hashable, Sendable {
    public var kind: String
    public var digest: String

    public init(kind: String, digest: String) {
        self.kind = kind
        self.digest = digest
    }
}

/// The identifying values of a record that a tombstone keeps (as hashes), and how they are
/// normalised so that a re-sent record with the same child's identifiers hashes the same:
///
/// - `nhs_number`: the ten digits of the NHS number (the valid one, else the raw value with
///   spaces and dashes removed if that leaves ten digits);
/// - `upn`: the thirteen characters of the UPN, upper case (valid, else raw cleaned the same way);
/// - `name_dob`: given name | family name | date of birth, the names case- and accent-folded and
///   reduced to their letters, one key for every combination of legal and preferred names.
///
/// A record with neither identifier nor date of birth (a police notification with only an
/// approximate age) cannot be recognised this way; see the erasure notes in README.md.
public enum ErasureFingerprint {
    public struct Values: Sendable {
        public var nhsNumber: String?
        public var nhsNumberRaw: String?
        public var upn: String?
        public var upnRaw: String?
        public var givenNames: [String]
        public var familyNames: [String]
        /// ISO 8601 (`YYYY-MM-DD`).
        public var dob: String?

        public init(
            nhsNumber: String? = nil, nhsNumberRaw: String? = nil, upn: String? = nil, upnRaw: String? = nil,
            givenNames: [String?] = [], familyNames: [String?] = [], dob: String? = nil
        ) {
            self.nhsNumber = nhsNumber
            self.nhsNumberRaw = nhsNumberRaw
            self.upn = upn
            self.upnRaw = upnRaw
            self.givenNames = givenNames.compactMap { $0 }
            self.familyNames = familyNames.compactMap { $0 }
            self.dob = dob
        }

        public init(_ record: CanonicalRecord) {
            self.init(
                nhsNumber: record.nhsNumber, nhsNumberRaw: record.nhsNumberRaw, upn: record.upn, upnRaw: record.upnRaw,
                givenNames: [record.givenName, record.preferredGivenName],
                familyNames: [record.familyName, record.preferredFamilyName], dob: record.dob?.iso8601)
        }
    }

    /// The normalised (kind, value) pairs of a record; hash them with `keys(_:secret:)`.
    public static func plainValues(_ values: Values) -> [(kind: String, value: String)] {
        var out: [(kind: String, value: String)] = []
        if let nhs = values.nhsNumber ?? values.nhsNumberRaw.flatMap({ cleaned($0, length: 10, digitsOnly: true) }) {
            out.append(("nhs_number", nhs))
        }
        if let upn = values.upn ?? values.upnRaw.flatMap({ cleaned($0, length: 13, digitsOnly: false) }) {
            out.append(("upn", upn.uppercased()))
        }
        if let dob = values.dob {
            let given = Set(values.givenNames.map(fold).filter { !$0.isEmpty })
            let family = Set(values.familyNames.map(fold).filter { !$0.isEmpty })
            for g in given.sorted() {
                for f in family.sorted() { out.append(("name_dob", "\(g)|\(f)|\(dob)")) }
            }
        }
        return out
    }

    public static func keys(_ values: Values, secret: String) -> Set<ErasureKey> {
        Set(
            plainValues(values).map {
                ErasureKey(kind: $0.kind, digest: hmacHex(secret: secret, message: $0.kind + "\u{0}" + $0.value))
            })
    }

    /// Lower case, accents and width folded, letters only: `Zoë O'Brien-Smith` → `zoeobriensmith`.
    public static func fold(_ name: String) -> String {
        let folded = name.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var out = ""
        for scalar in folded.unicodeScalars where scalar.properties.isAlphabetic {
            out.unicodeScalars.append(scalar)
        }
        return out.lowercased()
    }

    /// ASCII letters and digits of `raw` (spaces, dashes and dots dropped) if exactly `length` remain.
    static func cleaned(_ raw: String, length: Int, digitsOnly: Bool) -> String? {
        var out: [UInt8] = []
        for byte in raw.utf8 {
            switch byte {
            case 0x20, 0x2D, 0x2E, 0x09: continue
            case 0x30...0x39: out.append(byte)
            case 0x41...0x5A where !digitsOnly: out.append(byte)
            case 0x61...0x7A where !digitsOnly: out.append(byte - 0x20)
            default: return nil
            }
            if out.count > length { return nil }
        }
        return out.count == length ? String(decoding: out, as: UTF8.self) : nil
    }

    /// HMAC-SHA-256 (RFC 2104), hex.
    public static func hmacHex(secret: String, message: String) -> String {
        var key = Array(secret.utf8)
        if key.count > SHA256.blockByteCount { key = SHA256.hash(key) }
        key += [UInt8](repeating: 0, count: SHA256.blockByteCount - key.count)
        var inner = SHA256()
        inner.update(key.map { $0 ^ 0x36 })
        inner.update(utf8: message)
        var outer = SHA256()
        outer.update(key.map { $0 ^ 0x5C })
        outer.update(inner.finalize())
        return SHA256.hex(of: outer.finalize())
    }
}

/// The active tombstones, loaded once per batch: the loader asks each incoming row whether it is
/// an erased child coming back.
public struct ErasureTombstones: Sendable {
    public let secret: String
    /// Key → tombstone id.
    public let keys: [ErasureKey: Int64]

    /// What a held row's quarantine entry says, and what it keeps instead of the row's content.
    public static func heldReason(tombstone: Int64) -> String {
        "erased subject: needs a decision (tombstone \(tombstone); lift it with 'familyconnect erase lift' to let the child back)"
    }
    public static let heldReasonPrefix = "erased subject: needs a decision"
    public static let withheldText = "[withheld: the row matches an erased child; its content was not stored]"

    /// nil when no tombstone is active (then nothing needs checking).
    public static func load(_ connection: PostgresConnection) throws -> ErasureTombstones? {
        let rows = try connection.query(
            """
            SELECT k.kind, k.digest, k.tombstone_id FROM erasure_tombstone_keys k
            JOIN erasure_tombstones t ON t.id = k.tombstone_id WHERE t.lifted_at IS NULL
            """)
        guard !rows.isEmpty else { return nil }
        var keys: [ErasureKey: Int64] = [:]
        for row in rows {
            keys[ErasureKey(kind: try row.decode(String.self, at: 0), digest: try row.decode(String.self, at: 1))] =
                try row.decode(Int64.self, at: 2)
        }
        return ErasureTombstones(secret: try secret(connection), keys: keys)
    }

    public static func secret(_ connection: PostgresConnection) throws -> String {
        try connection.execute("SELECT secret FROM erasure_secret").scalar(String.self)
    }

    /// The tombstone this record matches, if any.
    public func match(_ values: ErasureFingerprint.Values) -> Int64? {
        for key in ErasureFingerprint.keys(values, secret: secret).sorted(by: { $0.digest < $1.digest }) {
            if let tombstone = keys[key] { return tombstone }
        }
        return nil
    }

    public func match(_ record: CanonicalRecord) -> Int64? { match(ErasureFingerprint.Values(record)) }
}
