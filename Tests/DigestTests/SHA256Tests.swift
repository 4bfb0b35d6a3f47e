import Digest
import Foundation
import Testing

@Suite struct SHA256Tests {
    private func hex(_ bytes: [UInt8]) -> String { SHA256.hex(of: SHA256.hash(bytes)) }

    @Test func fipsVectors() {
        #expect(hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let msg896 =
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(
            hex(Array(msg896.utf8)) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func oneMillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == expected)
        // The same message fed in uneven pieces.
        var hasher = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, piece.count)
            hasher.update(piece[0..<n])
            left -= n
        }
        #expect(SHA256.hex(of: hasher.finalize()) == expected)
    }

    @Test func incrementalSplitsMatchOneShot() {
        var rng = SplitMix64(seed: 42)
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 131, 200] {
            let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let expected = SHA256.hash(message)
            for split in 0...min(130, length) {
                var hasher = SHA256()
                hasher.update(message[0..<split])
                hasher.update(message[split...])
                #expect(hasher.finalize() == expected, "length \(length) split \(split)")
            }
            // Three pieces, the middle one of every length.
            for middle in 0...min(70, length) {
                let first = (length - middle) / 2
                var hasher = SHA256()
                hasher.update(message[0..<first])
                message.withUnsafeBytes { raw in
                    hasher.update(UnsafeRawBufferPointer(rebasing: raw[first..<(first + middle)]))
                }
                hasher.update(Array(message[(first + middle)...]))
                #expect(hasher.finalize() == expected, "length \(length) middle \(middle)")
            }
        }
    }

    @Test func finalizeResetsAndCopiesFork() {
        var hasher = SHA256()
        hasher.update(Array("ab".utf8))
        var fork = hasher
        hasher.update(Array("c".utf8))
        fork.update(Array("c".utf8))
        let first = hasher.finalize()
        #expect(first == fork.finalize())
        #expect(SHA256.hex(of: first) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // After finalize the hasher starts over.
        #expect(SHA256.hex(of: hasher.finalize()) == hex([]))
        var text = SHA256()
        text.update(utf8: "abc")
        #expect(text.finalize() == first)
    }

    @Test func hexRendering() {
        #expect(SHA256.hex(of: [0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(SHA256.hex(of: [UInt8]()) == "")
    }

    @Test func randomFileMatchesSystemSha256sum() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("digest-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).bin").path
        defer { unlink(path) }
        var rng = SplitMix64(seed: 7)
        var data = [UInt8](repeating: 0, count: 5 * 1024 * 1024 + 17)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: rng.next() >> 17) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(data)))

        let ours = try SHA256.hexDigest(ofFileAt: path)
        #expect(ours == SHA256.hex(of: SHA256.hash(data)))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let system = String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init)
        #expect(system == ours)
    }

    @Test func missingFileThrows() {
        #expect(throws: DigestError.self) {
            _ = try SHA256.hexDigest(ofFileAt: "/nonexistent/digest-test-file")
        }
        do {
            _ = try SHA256.hexDigest(ofFileAt: "/nonexistent/digest-test-file")
        } catch {
            #expect(error.operation == .open)
            #expect(error.description.contains("/nonexistent/digest-test-file"))
        }
    }
}

/// Deterministic generator for test data (SplitMix64).
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
