import Digest
import Foundation
import Identifiers
import Synth
import Testing

@testable import Feeds

/// The normaliser's output pinned to what it wrote before the byte-level speed work (commit cdc0180,
/// issue 14): for every synthetic feed, default and harsh noise, the SHA-256 of the COPY text, the
/// quality counts and the quarantine (reasons and positions), with the fast lane on and off. A change
/// that alters one canonical byte, one count or one refusal fails here, whichever path it is in.
@Suite("Normaliser output unchanged")
struct NormaliserOutputTests {
    /// Digests recorded by this test on the code before the change, by noise and feed.
    static let recorded: [String: String] = [
        "default/fsm_eligibility": "1bba688286a21fb3d5eed70e6c218b15d56e72605ddf01eda02bf33098a76d46",
        "default/health_visiting": "b6d04ef863caa4ddf567abe16aa258af1756d3f6264f3ea44c206325bb56d744",
        "default/police_notifications": "990f40bf830143c5f5b822c2d38f85ca532953ad03e5607102fe3e858f0e5fe3",
        "default/school_attendance": "8d6662bb5b68cb0b3f0595b50b3db5a1327f69ee4b712adef84a4ae7fc3ec277",
        "harsh/fsm_eligibility": "93f06382e1feab8d26435cf15aeee351988e070e0cad53e5d1fe8a155316a0e3",
        "harsh/health_visiting": "b2be8a1c1c9f287f0da67267e6089772507e69f1ea59d44e2b08fe72daa78e0c",
        "harsh/police_notifications": "8179b00348fff954d63ad029ca07223532251ad9e9939ce8f02ecde6f348ecbc",
        "harsh/school_attendance": "0e846ea37e9ca0aba5420a6044efa44ad30a7c51385ea8c6026383373556ca91",
    ]

    /// One digest over everything the reading thread hands on.
    static func digest(_ reading: CommonRowLaneTests.Reading) -> String {
        var hash = SHA256()
        hash.update(reading.copyText)
        hash.update(utf8: "\nrows \(reading.summary.rowsRead)\n")
        for (field, quality) in reading.summary.quality.sorted(by: { $0.key < $1.key }) {
            hash.update(utf8: "\(field) \(quality.rows) \(quality.present) \(quality.valid)\n")
        }
        for row in reading.summary.quarantine {
            hash.update(
                utf8:
                    "\(row.record) \(row.line) \(row.field ?? "-") \(row.reason) \(row.rawBytes) \(row.rawTruncated)\n")
            hash.update(utf8: row.raw + "\n")
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    @Test("every synthetic feed writes the bytes, counts and refusals it wrote before", arguments: [false, true])
    func unchangedOutput(harsh: Bool) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fc-pinned-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = SynthConfig(
            children: 3000, seed: harsh ? 12 : 11, asOf: SynthConfig.defaultAsOf, noise: harsh ? 2 : 1,
            profile: harsh ? .harsh : .standard)
        _ = try SyntheticFeedWriter.write(config: config, to: folder)
        let definitions = try CommonRowLaneTests.definitions()
        for kind in FeedKind.allCases {
            let definition = try #require(definitions.first { $0.name == kind.stem })
            let path = folder.appendingPathComponent(kind.fileName).path
            let key = (harsh ? "harsh/" : "default/") + kind.stem
            for lane in [true, false] {
                let reading = try CommonRowLaneTests.read(path, definition, lane: lane, today: SynthConfig.defaultAsOf)
                #expect(reading.summary.rowsRead > 100, "\(key)")
                #expect(Self.digest(reading) == Self.recorded[key], "\(key), lane \(lane)")
            }
        }
    }
}
