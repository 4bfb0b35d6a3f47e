/// How messy the synthetic county and its feeds are: every rate a profile can change, in one place, so a
/// profile file or command-line flags can set them later.
///
/// `standard` is the generator's long-standing mess and must keep producing byte-identical files: a rate
/// of 0 draws no random number at all (`SynthRandom.chance(0)` returns at once), so the harsher
/// features cost the standard profile nothing. `harsh` has the rates seen in real extracts.
/// The feed rates are multiplied by `SynthConfig.noise`; the population rates are not.
public struct NoiseProfile: Sendable, Hashable {
    /// The name given to `synth --noise`.
    public var name: String

    /// Child-name noise of one feed.
    public struct NameRates: Sendable, Hashable {
        /// Share of rows whose child forename is mistyped.
        public var forenameTypo: Double
        /// Share of rows that give a familiar form of the child's forename. For schools, the share of
        /// rows whose `PreferredForename` differs from the legal forename (0: only the population's own
        /// preferred names, as `standard` always had).
        public var nickname: Double

        public init(forenameTypo: Double, nickname: Double) {
            self.forenameTypo = forenameTypo
            self.nickname = nickname
        }
    }

    public var healthVisiting: NameRates
    public var school: NameRates
    public var fsm: NameRates
    public var police: NameRates

    /// Share of police rows with no date of birth (only `CHILD_AGE`).
    public var policeNoDOB: Double
    /// Of those, the share whose age is off by a year (or, one time in five, two).
    public var policeAgeApproximate: Double
    /// Whether an approximate age can be off by two years as well as one.
    public var policeAgeOffByTwo: Bool

    /// Share of families who moved house in the last two years.
    public var familyMoves: Double
    /// Share of twin pairs given nickname-equivalent names (Alfred and Alfie, Sophia and Sophie).
    public var twinLookAlikeNames: Double
    /// Share of later-born children named like an older sibling (Isabella and Isabelle).
    public var siblingLookAlikeNames: Double
    /// Share of families living in a flat of a building other families live in too ("Flat 3, 12 High
    /// Street": same building address and postcode, different flat).
    public var sharedBuilding: Double
    /// Share of pupils whose school keyed another pupil's UPN for them (two pupils, one UPN, one school).
    public var upnKeyedTwice: Double
    /// Share of pupils whose school feed names a primary contact (0: the feed has no contact columns).
    public var schoolContact: Double

    public init(
        name: String, healthVisiting: NameRates, school: NameRates, fsm: NameRates, police: NameRates,
        policeNoDOB: Double, policeAgeApproximate: Double, policeAgeOffByTwo: Bool, familyMoves: Double,
        twinLookAlikeNames: Double, siblingLookAlikeNames: Double, sharedBuilding: Double, upnKeyedTwice: Double,
        schoolContact: Double
    ) {
        self.name = name
        self.healthVisiting = healthVisiting
        self.school = school
        self.fsm = fsm
        self.police = police
        self.policeNoDOB = policeNoDOB
        self.policeAgeApproximate = policeAgeApproximate
        self.policeAgeOffByTwo = policeAgeOffByTwo
        self.familyMoves = familyMoves
        self.twinLookAlikeNames = twinLookAlikeNames
        self.siblingLookAlikeNames = siblingLookAlikeNames
        self.sharedBuilding = sharedBuilding
        self.upnKeyedTwice = upnKeyedTwice
        self.schoolContact = schoolContact
    }

    /// The generator's default mess (unchanged since the first version; tests pin its output).
    public static let standard = NoiseProfile(
        name: "default",
        healthVisiting: NameRates(forenameTypo: 0.015, nickname: 0.02),
        school: NameRates(forenameTypo: 0.003, nickname: 0),
        fsm: NameRates(forenameTypo: 0.015, nickname: 0.03),
        police: NameRates(forenameTypo: 0.03, nickname: 0.12),
        policeNoDOB: 0.25, policeAgeApproximate: 0.35, policeAgeOffByTwo: false,
        familyMoves: 0.10, twinLookAlikeNames: 0, siblingLookAlikeNames: 0, sharedBuilding: 0, upnKeyedTwice: 0,
        schoolContact: 0)

    /// Rates of real extracts: more typos (police up to 6%, in upper case), preferred names in half the
    /// school rows and 15% of FSM rows, police ages instead of dates of birth, more moves, look-alike
    /// twin and sibling names, UPNs keyed twice, and flats shared by several households.
    public static let harsh = NoiseProfile(
        name: "harsh",
        healthVisiting: NameRates(forenameTypo: 0.03, nickname: 0.03),
        school: NameRates(forenameTypo: 0.02, nickname: 0.5),
        fsm: NameRates(forenameTypo: 0.02, nickname: 0.15),
        police: NameRates(forenameTypo: 0.06, nickname: 0.15),
        policeNoDOB: 0.25, policeAgeApproximate: 0.6, policeAgeOffByTwo: true,
        familyMoves: 0.15, twinLookAlikeNames: 0.35, siblingLookAlikeNames: 0.04, sharedBuilding: 0.15,
        upnKeyedTwice: 0.002, schoolContact: 0)

    /// The named profiles `synth --noise` accepts.
    public static let named: [NoiseProfile] = [.standard, .harsh]

    public static func named(_ name: String) -> NoiseProfile? { named.first { $0.name == name } }

    /// Whether the feeds use the synth's own wider table of familiar forms (harsh) rather than only the
    /// population's preferred names and the short nickname list (standard).
    var usesFamiliarForms: Bool { school.nickname > 0 }
}
