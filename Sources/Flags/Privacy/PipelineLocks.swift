import Postgres

/// The transaction advisory locks of the pipeline's stages. A purge or an erasure takes all of
/// them, always in this order, so that no resolution, grouping, indicator, flag or export run
/// works on records while they are being removed (each stage takes one lock only, so this order
/// cannot deadlock with them). `PrivacyTests` checks the values against the stages' own.
public enum PipelineLocks {
    public static let resolver: Int64 = 0x6663_7265_736F_6C76  // "fcresolv" (Resolver.lockKey)
    public static let families: Int64 = 0x6663_6661_6D69_6C79  // "fcfamily" (FamilyGrouper.lockKey)
    public static let indicators: Int64 = 0x6663_696E_6469_6361  // "fcindica" (IndicatorBuilder.lockKey)
    public static let flags: Int64 = 0x6663_666C_6167_7321  // "fcflags!" (FlagEngine.lockKey)
    public static let export: Int64 = 0x6663_6578_706F_7274  // "fcexport" (Exporter.lockKey)
    /// Serialises purges and erasures with each other.
    public static let privacy: Int64 = 0x6663_7072_6976_6163  // "fcprivac"

    public static let all = [resolver, families, indicators, flags, export, privacy]

    /// Takes every lock; call inside a transaction (they are released at COMMIT or ROLLBACK).
    public static func lockAll(_ connection: PostgresConnection) throws {
        for key in all { try connection.advisoryTransactionLock(key) }
    }
}
