import Feeds
import Foundation
import Postgres

enum FeedsCommand: Command {
    static let name = "feeds"
    static let summary = "Feed definitions and their loading: 'status' (batches, rows, quality), 'check' (definitions)."
    static let synopsis = "status | check"
    static let options = DatabaseOptions.specs + [SchemaLocation.spec]

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        switch arguments.positionals.first {
        case "check":
            let definitions = try FeedDefinition.loadAll(directory: SchemaLocation.directory(arguments) + "/feeds")
            for definition in definitions {
                Console.print(
                    "\(definition.name): \(definition.kind.rawValue), \(definition.columns.count) fields and "
                        + "\(definition.facts.count) facts mapped — OK")
            }
            return 0
        case "status":
            try status(arguments)
            return 0
        default:
            throw UsageError(description: "expected 'feeds status' or 'feeds check'")
        }
    }

    static func status(_ arguments: ParsedArguments) throws {
        let connection = try PostgresConnection.connect(DatabaseOptions.connectionString(arguments))
        let feeds = try connection.query(
            """
            SELECT feed, batches, rows_read, rows_loaded, rows_quarantined,
                   to_char(last_loaded_at, 'YYYY-MM-DD HH24:MI') FROM feed_status ORDER BY feed
            """)
        if feeds.isEmpty {
            Console.print("no batches loaded yet")
            return
        }
        Console.print(
            pad("feed", 20) + pad("batches", 9) + pad("read", 10) + pad("loaded", 10) + pad("quarantined", 13)
                + "last loaded (UTC)")
        for row in feeds {
            Console.print(
                pad(try row.decode(String.self, at: 0), 20) + pad(String(try row.decode(Int.self, at: 1)), 9)
                    + pad(String(try row.decode(Int.self, at: 2)), 10)
                    + pad(String(try row.decode(Int.self, at: 3)), 10)
                    + pad(String(try row.decode(Int.self, at: 4)), 13) + (try row.decode(String.self, at: 5)))
        }
        Console.print(
            "\nField quality in each feed's latest batch (complete = present / rows, valid = valid / present):")
        let quality = try connection.query(
            """
            SELECT b.feed, b.id, q.field, q.rows, q.present, q.valid
            FROM feed_batch_quality q
            JOIN feed_batches b ON b.id = q.batch_id
            WHERE b.id IN (SELECT max(id) FROM feed_batches GROUP BY feed)
            ORDER BY b.feed, q.field
            """)
        var currentFeed = ""
        for row in quality {
            let feed = try row.decode(String.self, at: 0)
            if feed != currentFeed {
                Console.print("  \(feed) (batch \(try row.decode(Int.self, at: 1))):")
                currentFeed = feed
            }
            let rows = try row.decode(Int.self, at: 3)
            let present = try row.decode(Int.self, at: 4)
            let valid = try row.decode(Int.self, at: 5)
            Console.print(
                "    " + pad(try row.decode(String.self, at: 2), 28) + "complete " + percent(present, rows) + "  valid "
                    + percent(valid, present))
        }
        let reasons = try connection.query(
            """
            SELECT b.feed, coalesce(q.field, '-'), q.reason, count(*)
            FROM quarantined_rows q JOIN feed_batches b ON b.id = q.batch_id
            GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC, 2 LIMIT 40
            """)
        if !reasons.isEmpty {
            Console.print("\nQuarantine reasons:")
            for row in reasons {
                Console.print(
                    "  " + pad(try row.decode(String.self, at: 0), 20) + pad(String(try row.decode(Int.self, at: 3)), 7)
                        + pad(try row.decode(String.self, at: 1), 24) + (try row.decode(String.self, at: 2)))
            }
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        guard whole > 0 else { return "    –  " }
        let text = String(format: "%5.1f%%", Double(part) * 100 / Double(whole))
        return text
    }
}
