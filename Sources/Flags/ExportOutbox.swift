import Foundation
import Identifiers
import Postgres

/// Files in the outbox that no committed export recorded.
///
/// An export renames its file into place inside the transaction that writes the ledger, so a process
/// killed between the rename and the commit leaves a file whose ledger rows, audit record and
/// `export_files` row never committed. Its flags are exported again in the next file, so the
/// left-over is a second copy of children's data that nobody audited: the next export removes it,
/// with any temporary file an interrupted write left behind. Only names this exporter writes are
/// touched; anything else in the folder is someone else's.
enum ExportOutbox {
    /// The name an export file is written under: `familyconnect-<team>-<yyyymmdd>-<id>.csv`
    /// (`Exporter.writeAtomically` writes it as `.<name>.tmp` first). `ExportFileName` reads it back.
    static func fileName(team: String, asOf: CalendarDate, fileID: Int64) -> String {
        "familyconnect-\(team)-\(asOf.iso8601.replacingOccurrences(of: "-", with: ""))-\(fileID).csv"
    }

    /// A name `fileName` made, or its temporary while being written.
    struct ExportFileName: Equatable {
        let fileID: Int64
        let isTemporary: Bool

        init(fileID: Int64, isTemporary: Bool) {
            self.fileID = fileID
            self.isTemporary = isTemporary
        }

        init?(_ name: String) {
            var stem = Substring(name)
            isTemporary = stem.hasPrefix(".familyconnect-") && stem.hasSuffix(".csv.tmp")
            if isTemporary {
                stem = stem.dropFirst().dropLast(4)
            }
            guard stem.hasPrefix("familyconnect-"), stem.hasSuffix(".csv") else { return nil }
            let parts = stem.dropLast(4).split(separator: "-")
            let date = parts.count >= 4 ? parts[parts.count - 2] : ""
            guard let id = Int64(parts[parts.count - 1]), id > 0, date.count == 8,
                date.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
            fileID = id
        }
    }

    /// Removes the outbox's export files without a committed `export_files` row and its stale
    /// temporary files; returns how many. Call it holding the export lock, so no export that could
    /// still commit is writing a file.
    static func removeUnrecordedFiles(in outbox: String, connection: PostgresConnection) throws -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: outbox) else { return 0 }
        let candidates = names.compactMap { name in ExportFileName(name).map { (name, $0) } }
        guard !candidates.isEmpty else { return 0 }
        let recorded = Set(
            try connection.query(
                "SELECT id FROM export_files WHERE id = ANY($1::bigint[])",
                [candidates.filter { !$0.1.isTemporary }.map { String($0.1.fileID) }]
            ).map { try $0.decode(Int64.self, at: 0) })
        var removed = 0
        for (name, file) in candidates where file.isTemporary || !recorded.contains(file.fileID) {
            if unlink((outbox as NSString).appendingPathComponent(name)) == 0 { removed += 1 }
        }
        return removed
    }
}
