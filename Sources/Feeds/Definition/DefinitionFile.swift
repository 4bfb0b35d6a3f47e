import Config

/// Feed definitions use the shared `ConfigFile` format; this adapts its errors to `FeedDefinitionError`.
struct DefinitionFile {
    typealias Entry = ConfigFile.Entry
    let file: ConfigFile
    var path: String { file.path }
    var entries: [Entry] { file.entries }

    init(path: String, text: String) throws(FeedDefinitionError) {
        do {
            file = try ConfigFile(path: path, text: text)
        } catch {
            let code: FeedDefinitionError.Code = error.message.hasPrefix("set twice") ? .duplicateKey : .syntax
            throw FeedDefinitionError(
                code: code, file: error.file, line: error.line, key: error.key, message: error.message)
        }
    }

    func entries(in section: String) -> [Entry] { file.entries(in: section) }

    func entry(_ section: String, _ key: String) -> Entry? { file.entry(section, key) }

    func error(_ code: FeedDefinitionError.Code, _ entry: Entry?, _ message: String) -> FeedDefinitionError {
        FeedDefinitionError(code: code, file: path, line: entry?.line, key: entry?.path, message: message)
    }
}
