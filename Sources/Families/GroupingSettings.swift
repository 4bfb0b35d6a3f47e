import Config

/// Which carer identities link children into one family.
public enum CarerKeyKind: String, Sendable, CaseIterable, Hashable, Comparable {
    /// The carer's NHS number (health visiting extracts name the mother).
    case nhsNumber = "nhs_number"
    /// The carer's National Insurance number with their date of birth and surname (free school meals).
    case niNumber = "ni_number"
    /// The carer's forename, surname and date of birth, from any feed that names a carer.
    case nameAndDOB = "name_dob"
    /// A school contact's phone number with the contact's surname (a mobile follows a family that moves).
    case contactPhone = "contact_phone"

    /// The `family_links.basis` a link of this kind is stored under.
    var basis: String {
        switch self {
        case .nhsNumber: return "carer_nhs_number"
        case .niNumber: return "carer_ni_number"
        case .nameAndDOB: return "carer_name_dob"
        case .contactPhone: return "carer_contact_phone"
        }
    }

    public static func < (a: CarerKeyKind, b: CarerKeyKind) -> Bool { a.rawValue < b.rawValue }
}

/// A combination of evidence that links two members through a carer's name alone (no date of birth):
/// a record of one kind and a record of another (or the same) kind, at the same address, naming the
/// same carer (a nickname or a typo allowed), no more than `withinDays` apart. `[carer_name.NAME]`
/// in families.conf; the link stores `name`.
public struct CarerNameRule: Sendable, Equatable {
    public var name: String
    /// The two feed kinds, in either order (equal for two records of one kind).
    public var kinds: [String]
    public var withinDays: Int

    public init(name: String, kinds: [String], withinYears: Int) {
        self.name = name
        self.kinds = kinds
        self.withinDays = withinYears * 365
    }

    func applies(_ a: String, _ b: String) -> Bool {
        (kinds[0] == a && kinds[1] == b) || (kinds[0] == b && kinds[1] == a)
    }
}

/// How children are grouped into families: read from `schemas/rules/families.conf` (see the
/// README next to it). The defaults are the shipped file's values.
public struct GroupingSettings: Sendable, Equatable {
    public var version = 2
    /// Feed kinds whose address is where a child lives.
    public var homeAddressKinds: Set<String> = ["health_visiting", "school_attendance", "fsm"]
    /// Feed kinds whose address is used only for a member with no address from a home feed
    /// (a police incident is not always at home).
    public var fallbackAddressKinds: Set<String> = ["police"]
    public var carerKeys: Set<CarerKeyKind> = Set(CarerKeyKind.allCases)
    /// A stay at an address is taken to last this many days past its last evidence, unless the
    /// member is seen at another address first.
    public var stayExtendsDays = 365
    /// Most recent evidence wins: a link through a shared address is dropped when each member
    /// has other address links more recent by more than this many days (both have moved on).
    public var supersededAfterDays = 365
    /// An address shared by more members than this is not used to link (a hostel, a placeholder).
    public var maxMembersPerAddress = 12
    /// Members whose stays at one address do not overlap are linked when they share a surname and the
    /// later stay began within this many days of the earlier one's last evidence (a family that moved,
    /// and a partner still sending the old address for one child). 0, the default: never, because
    /// same-surname strangers who move into a house would be linked too.
    public var sameSurnameAtAddressWithinDays = 0
    /// Police incident types (the feed's normalised `incident_type`) for which children notified
    /// under the same incident reference are taken to share a household.
    public var sameIncidentTypes: Set<String> = ["domestic_abuse", "concern_for_welfare", "missing_person"]
    /// Carer-name rules, in the file's order (the first that holds names the link).
    public var carerNameRules: [CarerNameRule] = [
        CarerNameRule(
            name: "mother_in_health_visiting_and_school_contact", kinds: ["health_visiting", "school_attendance"],
            withinYears: 3),
        CarerNameRule(name: "school_contacts", kinds: ["school_attendance", "school_attendance"], withinYears: 2),
        CarerNameRule(name: "fsm_parent_and_school_contact", kinds: ["fsm", "school_attendance"], withinYears: 3),
        CarerNameRule(
            name: "mother_in_health_visiting", kinds: ["health_visiting", "health_visiting"], withinYears: 3),
        CarerNameRule(
            name: "mother_in_health_visiting_and_fsm_parent", kinds: ["health_visiting", "fsm"], withinYears: 3),
    ]
    /// A record at an address naming a carer who is not the one an earlier household there named (the
    /// same role: mother and mother) ends that household's stay there: a new family moved in.
    public var differentCarerEndsHousehold = true
    /// Two members at one address whose records there name different carers of one role (each its own
    /// mother) are not linked by the address alone: two households behind one front door.
    public var differentCarerNoAddressLink = true
    /// …unless the two children share a surname: one home where the school names one child's mother and
    /// the health visitor or another child's school names the other mother (a child with two mothers, a
    /// step-mother), not two households behind one front door. The link is `same_address_one_surname`.
    public var differentCarersOneSurnameOneHousehold = true
    /// A record with no postcode, matched to an address by premises and town, links only children who
    /// share a surname (either's unknown: no objection): a house number and street recur across a
    /// town's postcodes, so the weaker match needs a second piece of evidence.
    public var noPostcodeAddressNeedsSurname = true
    /// An address whose children carry more surnames than this (a surname and its double-barrelled
    /// forms count once) gives no address-only link: flats behind one front door, a house in
    /// multiple occupation, a hostel.
    public var maxSurnamesPerAddress = 4
    /// An address whose records name more different carers than this gives no address-only link.
    public var maxCarersPerAddress = 4
    /// A carer's name and date of birth that records give beside two different NHS numbers, or two
    /// different NI numbers, is two people who share them (two mothers called Sarah Smith born on one
    /// day): the name and date of birth then link nobody; their numbers still do.
    public var nameDOBWithTwoNumbersLinksNothing = true
    /// A carer's name and date of birth given beside an NHS number only on one child's records (the
    /// health visitor's mother) and beside an NI number only on the other's (the meals claimant) links
    /// the two only when they share an address or a surname: two women of one name and date of birth,
    /// one known to each service, are more common at county scale than one woman with no other trace.
    public var nameDOBAcrossNumbersNeedsAddressOrSurname = true

    public init() {}

    static let feedKinds = ["health_visiting", "school_attendance", "fsm", "police"]

    /// Parses a grouping settings file; every error names the file, line and key.
    public static func parse(path: String, text: String) throws(ConfigFile.Error) -> GroupingSettings {
        try read(SettingsReader(ConfigFile(path: path, text: text)))
    }

    public static func load(path: String) throws(ConfigFile.Error) -> GroupingSettings {
        try read(SettingsReader(path: path))
    }

    private static func read(_ reader: SettingsReader) throws(ConfigFile.Error) -> GroupingSettings {
        var reader = reader
        var settings = GroupingSettings()
        let s = "grouping"
        settings.version = try reader.requiredInteger(s, "version", range: 1...1_000_000)
        if let kinds = try reader.list(s, "home_address_kinds", allowed: feedKinds) {
            settings.homeAddressKinds = Set(kinds)
        }
        if let kinds = try reader.list(s, "fallback_address_kinds", allowed: feedKinds) {
            settings.fallbackAddressKinds = Set(kinds)
        }
        if let overlap = settings.homeAddressKinds.intersection(settings.fallbackAddressKinds).sorted().first {
            throw reader.file.error(
                reader.file.entry(s, "fallback_address_kinds"), "'\(overlap)' is already a home address kind")
        }
        if let keys = try reader.list(s, "carer_keys", allowed: CarerKeyKind.allCases.map(\.rawValue)) {
            settings.carerKeys = Set(keys.compactMap(CarerKeyKind.init(rawValue:)))
        }
        settings.stayExtendsDays =
            try reader.integer(s, "stay_extends_days", range: 0...3650) ?? settings.stayExtendsDays
        settings.supersededAfterDays =
            try reader.integer(s, "superseded_after_days", range: 0...3650) ?? settings.supersededAfterDays
        settings.maxMembersPerAddress =
            try reader.integer(s, "max_members_per_address", range: 2...1000) ?? settings.maxMembersPerAddress
        settings.sameSurnameAtAddressWithinDays =
            try reader.integer(s, "same_surname_at_address_within_days", range: 0...3650)
            ?? settings.sameSurnameAtAddressWithinDays
        if let types = reader.list(s, "same_incident_types") {
            for type in types.values where type.contains(where: { !($0.isLowercase || $0.isNumber || $0 == "_") }) {
                throw reader.file.error(
                    types.entry, "'\(type)' is not a normalised incident type (lower case, digits, _)")
            }
            settings.sameIncidentTypes = Set(types.values)
        }
        settings.differentCarerEndsHousehold =
            try reader.boolean(s, "different_carer_ends_household") ?? settings.differentCarerEndsHousehold
        settings.differentCarerNoAddressLink =
            try reader.boolean(s, "different_carer_no_address_link") ?? settings.differentCarerNoAddressLink
        settings.differentCarersOneSurnameOneHousehold =
            try reader.boolean(s, "different_carers_one_surname_one_household")
            ?? settings.differentCarersOneSurnameOneHousehold
        settings.noPostcodeAddressNeedsSurname =
            try reader.boolean(s, "no_postcode_address_needs_surname") ?? settings.noPostcodeAddressNeedsSurname
        settings.maxSurnamesPerAddress =
            try reader.integer(s, "max_surnames_per_address", range: 1...1000) ?? settings.maxSurnamesPerAddress
        settings.maxCarersPerAddress =
            try reader.integer(s, "max_carers_per_address", range: 1...1000) ?? settings.maxCarersPerAddress
        settings.nameDOBWithTwoNumbersLinksNothing =
            try reader.boolean(s, "name_dob_with_two_numbers_links_nothing")
            ?? settings.nameDOBWithTwoNumbersLinksNothing
        settings.nameDOBAcrossNumbersNeedsAddressOrSurname =
            try reader.boolean(s, "name_dob_across_numbers_needs_address_or_surname")
            ?? settings.nameDOBAcrossNumbersNeedsAddressOrSurname
        // No [carer_name.*] section: no carer-name rules (a file from before they existed links as it did).
        settings.carerNameRules = []
        let prefix = "carer_name."
        for name in reader.sections(prefixed: prefix) {
            let section = prefix + name
            guard name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }), !name.isEmpty else {
                throw ConfigFile.Error(
                    file: reader.file.path, line: reader.sectionLine(section), key: section,
                    message: "a rule name is lower case, digits and _")
            }
            guard let kinds = try reader.list(section, "kinds", allowed: feedKinds), kinds.count == 2 else {
                throw ConfigFile.Error(
                    file: reader.file.path, line: reader.sectionLine(section), key: section + ".kinds",
                    message: "expected two feed kinds (the same one twice for two records of one kind)")
            }
            let years = try reader.requiredInteger(section, "within_years", range: 0...30)
            settings.carerNameRules.append(CarerNameRule(name: name, kinds: kinds, withinYears: years))
        }
        try reader.finish { $0 == s || $0.hasPrefix(prefix) }
        return settings
    }

    /// The settings as JSON for the run ledger (no personal data).
    var json: String {
        func list(_ values: some Sequence<String>) -> String {
            "[" + values.sorted().map { "\"\($0)\"" }.joined(separator: ",") + "]"
        }
        return "{\"version\":\(version),\"home_address_kinds\":\(list(homeAddressKinds)),"
            + "\"fallback_address_kinds\":\(list(fallbackAddressKinds)),\"carer_keys\":\(list(carerKeys.map(\.rawValue))),"
            + "\"stay_extends_days\":\(stayExtendsDays),\"superseded_after_days\":\(supersededAfterDays),"
            + "\"max_members_per_address\":\(maxMembersPerAddress),"
            + "\"same_surname_at_address_within_days\":\(sameSurnameAtAddressWithinDays),\"same_incident_types\":\(list(sameIncidentTypes)),"
            + "\"different_carer_ends_household\":\(differentCarerEndsHousehold),"
            + "\"different_carer_no_address_link\":\(differentCarerNoAddressLink),"
            + "\"different_carers_one_surname_one_household\":\(differentCarersOneSurnameOneHousehold),"
            + "\"no_postcode_address_needs_surname\":\(noPostcodeAddressNeedsSurname),"
            + "\"max_surnames_per_address\":\(maxSurnamesPerAddress),"
            + "\"max_carers_per_address\":\(maxCarersPerAddress),"
            + "\"name_dob_with_two_numbers_links_nothing\":\(nameDOBWithTwoNumbersLinksNothing),"
            + "\"name_dob_across_numbers_needs_address_or_surname\":\(nameDOBAcrossNumbersNeedsAddressOrSurname),"
            + "\"carer_name_rules\":["
            + carerNameRules.map {
                "{\"name\":\"\($0.name)\",\"kinds\":[\"\($0.kinds[0])\",\"\($0.kinds[1])\"],\"within_days\":\($0.withinDays)}"
            }
            .joined(separator: ",") + "]}"
    }
}
