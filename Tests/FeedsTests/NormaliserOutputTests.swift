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
    /// Digests recorded by this test on the code before the change, by noise and feed. The harsh ones
    /// were recorded again when the generator stopped giving a child a sibling's name as its familiar
    /// form (the input changed, the normaliser did not: the default digests stayed as they were).
    static let recorded: [String: String] = [
        "default/fsm_eligibility": "1bba688286a21fb3d5eed70e6c218b15d56e72605ddf01eda02bf33098a76d46",
        "default/health_visiting": "b6d04ef863caa4ddf567abe16aa258af1756d3f6264f3ea44c206325bb56d744",
        "default/police_notifications": "990f40bf830143c5f5b822c2d38f85ca532953ad03e5607102fe3e858f0e5fe3",
        "default/school_attendance": "8d6662bb5b68cb0b3f0595b50b3db5a1327f69ee4b712adef84a4ae7fc3ec277",
        "harsh/fsm_eligibility": "8e77dc0aa050fc48253171fbcc3cb2ab9adb1124d58bbcd8454e1dccc7f534be",
        "harsh/health_visiting": "e3e53eef7efd2baac0b84ad219da48499e59e3ef609cde16b8a315caf91d0432",
        "harsh/police_notifications": "691475257bc47ada7fe12291e491b57342e610f192504c1621de11a63fe4cdb6",
        "harsh/school_attendance": "b50a7189357f93f0251b17bbc367b741a7965facdf0daf36276e845b2f6afd41",
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
