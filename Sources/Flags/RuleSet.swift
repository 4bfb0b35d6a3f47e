import Config
import Families
import Foundation

/// Everything in `schemas/rules/` that decides indicators and flags: the indicator definitions
/// (`indicators.conf`), the flag rules with the lifecycle and suppression settings (`flags.conf`),
/// and the statutory services list if one is configured. Loading checks every key of every file.
public struct RuleSet: Sendable, Equatable {
    public var indicators: [IndicatorDefinition]
    public var rules: [FlagRule]
    public var lifecycle: LifecycleSettings
    public var suppression: SuppressionSettings
    public var statutoryList: StatutoryList?

    public func indicator(named name: String) -> IndicatorDefinition? { indicators.first { $0.name == name } }

    /// Loads `indicators.conf` and `flags.conf` from a rules folder.
    public static func load(directory: String) throws(ConfigFile.Error) -> RuleSet {
        let indicatorsPath = (directory as NSString).appendingPathComponent("indicators.conf")
        let flagsPath = (directory as NSString).appendingPathComponent("flags.conf")
        func read(_ path: String) throws(ConfigFile.Error) -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigFile.Error(file: path, line: nil, key: nil, message: "cannot read the file")
            }
        }
        return try parse(
            indicatorsPath: indicatorsPath, indicatorsText: try read(indicatorsPath), flagsPath: flagsPath,
            flagsText: try read(flagsPath), directory: directory)
    }

    /// Parses the two files' texts. A relative `list_file` is taken from `directory`.
    public static func parse(
        indicatorsPath: String, indicatorsText: String, flagsPath: String, flagsText: String, directory: String? = nil
    ) throws(ConfigFile.Error) -> RuleSet {
        var indicatorReader = SettingsReader(try ConfigFile(path: indicatorsPath, text: indicatorsText))
        let indicators = try IndicatorDefinition.readAll(&indicatorReader)
        try indicatorReader.finish { $0.hasPrefix("indicator.") }
        if indicators.isEmpty {
            throw ConfigFile.Error(file: indicatorsPath, line: nil, key: nil, message: "no [indicator.NAME] sections")
        }

        var reader = SettingsReader(try ConfigFile(path: flagsPath, text: flagsText))
        var lifecycle = LifecycleSettings()
        lifecycle.coolOffDays =
            try reader.integer("lifecycle", "cool_off_days", range: 0...3650) ?? lifecycle.coolOffDays
        var suppression = SuppressionSettings()
        suppression.useFeedFact = try reader.boolean("suppression", "use_feed_fact") ?? true
        var list: StatutoryList?
        if let (file, _) = reader.string("suppression", "list_file"), !file.isEmpty {
            let path =
                file.hasPrefix("/") || directory == nil ? file : (directory! as NSString).appendingPathComponent(file)
            suppression.listFile = path
            list = try StatutoryList.load(path: path)
        }
        let rules = try FlagRule.readAll(&reader, indicators: indicators)
        try reader.finish { $0 == "lifecycle" || $0 == "suppression" || $0.hasPrefix("rule.") }
        if rules.isEmpty {
            throw ConfigFile.Error(file: flagsPath, line: nil, key: nil, message: "no [rule.NAME] sections")
        }
        return RuleSet(
            indicators: indicators, rules: rules, lifecycle: lifecycle, suppression: suppression, statutoryList: list)
    }

    /// name → version, for the run ledgers.
    var indicatorVersionsJSON: String {
        "{" + indicators.map { "\"\($0.name)\":\($0.version)" }.joined(separator: ",") + "}"
    }

    var ruleVersionsJSON: String { "{" + rules.map { "\"\($0.name)\":\($0.version)" }.joined(separator: ",") + "}" }
}
