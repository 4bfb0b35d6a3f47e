import Foundation

/// A folder partners drop files into. Only complete files are taken: names starting with `.` or
/// ending in `.part`, `.tmp` or `.filepart` are still being written (write, then rename, is the
/// contract), and so is a file modified in the last `settleSeconds`. Anything else that matches
/// the pattern but is not a regular file (a FIFO, a device, a link to one, a directory other than
/// `processed/` and `failed/`) is listed too, so that the loader refuses it by name and it is moved
/// to `failed/`, instead of being read forever or skipped without a word.
public struct DropFolder: Sendable {
    public let path: String
    public let pattern: String
    public var settleSeconds: Double = 2

    public init(path: String, pattern: String = "*.csv") {
        self.path = path
        self.pattern = pattern
    }

    public var processedPath: String { (path as NSString).appendingPathComponent("processed") }
    public var failedPath: String { (path as NSString).appendingPathComponent("failed") }

    /// Complete files waiting, oldest name first.
    public func pendingFiles(now: Date = Date()) throws -> [String] {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: path)
        return names.sorted().compactMap { name in
            if name.hasPrefix(".") || name.hasSuffix(".part") || name.hasSuffix(".tmp") || name.hasSuffix(".filepart") {
                return nil
            }
            guard fnmatch(pattern, name, 0) == 0 else { return nil }
            let full = (path as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            let exists = manager.fileExists(atPath: full, isDirectory: &isDirectory)
            if isDirectory.boolValue && (full == processedPath || full == failedPath) { return nil }
            // A dangling link is listed too: the loader says it cannot be read.
            if !exists && (try? manager.destinationOfSymbolicLink(atPath: full)) == nil { return nil }
            if settleSeconds > 0,
                let modified = try? manager.attributesOfItem(atPath: full)[.modificationDate] as? Date,
                now.timeIntervalSince(modified) < settleSeconds
            {
                return nil
            }
            return full
        }
    }

    /// Moves a handled file to `processed/` or `failed/`, stamped so names never collide.
    @discardableResult
    public func archive(_ file: String, succeeded: Bool, now: Date = Date()) throws -> String {
        let folder = succeeded ? processedPath : failedPath
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime]
        let stamp = formatter.string(from: now).replacingOccurrences(of: ":", with: "")
        var target = (folder as NSString).appendingPathComponent("\(stamp)-\((file as NSString).lastPathComponent)")
        var suffix = 1
        while FileManager.default.fileExists(atPath: target) {
            suffix += 1
            target = (folder as NSString).appendingPathComponent(
                "\(stamp)-\(suffix)-\((file as NSString).lastPathComponent)")
        }
        try FileManager.default.moveItem(atPath: file, toPath: target)
        return target
    }
}
