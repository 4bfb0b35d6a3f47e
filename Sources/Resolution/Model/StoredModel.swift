import Postgres

/// The newest stored model with its name frequencies, as resolution runs and reports read it.
enum StoredModel {
    static func latest(_ connection: PostgresConnection) throws -> (Int64, MatchModel, NameFrequencies)? {
        guard
            let row = try connection.query(
                "SELECT id, parameters::text, records FROM match_models ORDER BY id DESC LIMIT 1"
            ).first
        else { return nil }
        let id = try row.decode(Int64.self, at: 0)
        var model = try MatchModel.fromJSON(try row.decode(String.self, at: 1))
        var frequencies = NameFrequencies()
        frequencies.total = try row.decode(Int.self, at: 2)
        // A model stored before priors were: its prior follows from what it stored.
        model.prior =
            model.prior
            ?? MatchModel.prior(
                matchProportion: model.matchProportion, pairs: model.pairsUsed, records: frequencies.total)
        try connection.forEachRow(
            "SELECT name_kind, fingerprint, records FROM name_frequencies WHERE model_id = $1", [id]
        ) { row in
            let fingerprint = UInt64(bitPattern: try row.decode(Int64.self, at: 1))
            let count = try row.decode(Int.self, at: 2)
            switch try row.decode(String.self, at: 0) {
            case "given": frequencies.given[fingerprint] = count
            case "preferred_given": frequencies.preferredGiven[fingerprint] = count
            default: frequencies.family[fingerprint] = count
            }
        }
        return (id, model, frequencies)
    }
}
