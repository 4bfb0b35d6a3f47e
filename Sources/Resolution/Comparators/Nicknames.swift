/// `NicknameTable.standardText`: UK given names and their short forms, for review by a data
/// officer.
///
/// How to read and edit it:
/// - One group per line. Every name on a line is treated as possibly the same child's name:
///   "Frederick, Fred, Freddie" makes all three mutually equivalent. The first name is the group's
///   label; the order of the others does not matter.
/// - A name may appear on several lines ("Charlie" is on the Charles and Charlotte lines). Two names
///   are equivalent when some line holds both, so Charlie ~ Charles and Charlie ~ Charlotte, but
///   Charles is NOT equivalent to Charlotte.
/// - Spelling is normalised as for matching (case, accents, apostrophes ignored): "Zoë" = "ZOE".
/// - Lines starting with `#` are comments; blank lines are ignored.
/// - The line `@familiar` starts the familiar forms: pet forms that are also given as names of
///   their own (Mia and Amelia, Ollie and Olivia). `areEquivalent` leaves them out (the carer-name
///   rules of Families use it); the linkage model's comparator counts them as a nickname, so a
///   child recorded both ways is linked, but the twin rule counts them as one name only where no
///   second child of that date of birth is known in the household, and where one is known, a
///   record in such a form could be either child's (see `Clusterer`).
/// - Group ids are the line's position among group lines (1, 2, 3…): adding a line in the middle
///   renumbers the groups after it. Blocking keys built from ids must be rebuilt with the binary.
///
/// What is deliberately NOT in the main part (a false merge shows one child's record to another family's
/// worker, and twins share a date of birth, an address and a surname, so the given name is often
/// the only evidence that separates them):
/// - Popular names that are independent names in their own right and could be given to siblings,
///   even where one is historically a pet form of the other: Alfie is not with Freddie or Fred
///   (Alfred/Frederick are separate lines), Ella and Elena are not with Eleanor/Ellie, Millie is not
///   with Emily, Molly and Polly are not with Mary (they would also make Molly ~ Polly), Maisie and
///   Daisy are not with Margaret, Elsie and Lisa are not with Elizabeth, Leo is not with Leonard,
///   Mia is not with Amelia, Ollie is not with Olivia, Lila is not with Delilah, Poppy is not here
///   at all. Those that are also a child's familiar form are in the `@familiar` part instead. Clipped forms that are no child's given name (Ozzy, Tobes, Jakey, Haz) are here.
/// - Rory is not with Aurora: a boy Rory and a girl Aurora are plausible twins.
/// - Harry is not with Harriet (Harriet's short forms are Hattie/Hatty); a boy Harry and a girl
///   Harriet are plausible twins.
/// - Spelling variants are listed only where they should count as the same name outright
///   (Sophie/Sophia/Sofia, Mohammed/Muhammad, Polish forms such as Piotr/Peter); others
///   (Lewis/Louis) are left to Jaro–Winkler, which scores them as close but not equal.
extension NicknameTable {
    public static let standardText = """
        # ---- Boys ----
        Albert, Al, Bert, Bertie, Albie
        Alfred, Alfie, Alf
        Alan, Allan, Allen, Al
        Alexander, Alex, Alec, Alek, Aleksander, Aleksandr, Oleksandr, Olek, Xander, Sandy, Sasha
        Alistair, Alastair, Alasdair, Alister
        Anthony, Antony, Tony, Ant
        Andrew, Andy, Drew, Andrzej
        Archibald, Archie, Archy, Arch
        Arthur, Art, Artie
        Augustus, August, Gus, Gussie
        Barnaby, Barnabas, Barney
        Bartholomew, Bart
        Benjamin, Ben, Benji, Benjy, Benny
        Benedict, Ben, Benny
        Bernard, Bernie
        Bertram, Bertie, Bert
        Bradley, Brad
        Callum, Calum, Cal
        Cameron, Cam
        Charles, Charlie, Charley, Chas, Chaz, Chazz, Chuck
        Christopher, Kristopher, Krzysztof, Chris, Kit
        Daniel, Dan, Danny, Dani
        David, Dawid, Dave, Davy, Davie
        Dominic, Dominik, Dom
        Donald, Don, Donnie
        Douglas, Doug, Dougie
        Edward, Ed, Eddie, Eddy, Ted, Teddy, Ned
        Edmund, Edmond, Ed, Eddie, Ned
        Edwin, Ed, Eddie
        Ernest, Ernie
        Ezekiel, Zeke
        Francis, Frank, Frankie, Fran
        Franklin, Frank, Frankie
        Frederick, Frederic, Fredrick, Fred, Freddie, Freddy
        Gabriel, Gabe
        Geoffrey, Jeffrey, Jeffery, Geoff, Jeff
        George, Georgie
        Gerald, Gerry, Jerry
        Gerard, Gerry, Ged
        Gilbert, Gil, Bert
        Gregory, Greg
        Harold, Harry, Hal
        Henry, Henryk, Harry, Hal, Hank
        Herbert, Herb, Bert, Bertie
        Hugh, Hughie
        Isaac, Isaak, Izaak
        Jacob, Jakob, Jakub, Jake, Jakey, Kuba
        James, Jim, Jimmy, Jimmie, Jamie, Jem
        Jeremy, Jerry, Jez
        John, Jack, Johnny, Johnnie, Jonny, Jon
        Jonathan, Jonathon, Johnathan, Jon, Jonny, Jonty
        Joseph, Jozef, Joe, Joey, Jo
        Joshua, Josh
        Kenneth, Ken, Kenny
        Lawrence, Laurence, Larry, Laurie, Lawrie
        Leonard, Len, Lenny, Lennie
        Malcolm, Malc, Mal
        Matthew, Mateusz, Matt, Matty, Mat
        Maximilian, Maksymilian, Max, Maks
        Maxwell, Max
        Michael, Michal, Mike, Mikey, Mick, Micky, Mickey
        Mitchell, Mitch
        Montgomery, Monty
        Montague, Monty
        Nathan, Nat, Nate
        Nathaniel, Nathanael, Nat, Nate
        Nicholas, Nicolas, Nickolas, Nick, Nicky
        Oliver, Ollie, Olly
        Oscar, Ossie, Ozzie, Ozzy, Oz
        Patrick, Pat, Paddy
        Peter, Piotr, Pete
        Philip, Phillip, Filip, Phil, Pip
        Raymond, Ray
        Reginald, Reg, Reggie
        Richard, Rich, Richie, Rick, Ricky, Dick
        Robert, Rob, Robbie, Robby, Bob, Bobby, Bert
        Roderick, Rod, Roddy
        Rodney, Rod
        Ronald, Ron, Ronnie
        Samuel, Sam, Sammy
        Sebastian, Seb, Bastian, Bas
        Sean, Shaun, Shawn
        Seamus, Shamus
        Solomon, Sol
        Stanley, Stan
        Stephen, Steven, Steve, Stevie
        Stuart, Stewart, Stu
        Terence, Terrence, Terry
        Theodore, Theo, Ted, Teddy
        Thomas, Tomasz, Tom, Tommy
        Timothy, Tim, Timmy
        Tobias, Toby, Tobes
        Victor, Vic
        Vincent, Vince, Vinnie, Vinny
        Walter, Walt, Wally
        Wesley, Wes
        Wilfred, Wilfrid, Wilf
        William, Will, Wills, Willie, Willy, Bill, Billy, Liam
        Zachary, Zachery, Zach, Zack, Zak, Zac
        Zachariah, Zechariah, Zach, Zack, Zak, Zac
        # Transliteration variants (the same name written from Arabic script in different ways)
        Mohammed, Muhammad, Mohammad, Mohamed, Muhammed, Mohamad, Mo
        Ahmed, Ahmad, Ahmet
        Yusuf, Yousef, Yousuf, Yusef, Youssef
        Ibrahim, Ebrahim
        Abdullah, Abdallah
        Hussain, Hussein, Husain, Husein
        Mustafa, Mostafa, Mustapha
        Omar, Umar
        Osman, Usman
        # ---- Girls ----
        Abigail, Abby, Abbie, Abi, Abbey
        Alexandra, Aleksandra, Alex, Alexa, Lexi, Lexie, Sasha
        Alison, Allison, Alyson, Ally, Allie
        Amanda, Mandy
        Amelia, Millie, Milly
        Anastasia, Stacey, Stacy
        Angela, Angie
        Anne, Ann, Annie
        Anna, Annie, Ania, Anya
        Annabel, Annabelle, Annabella, Bella, Belle
        Antonia, Toni, Tonia
        Arabella, Bella, Belle
        Barbara, Barb, Babs
        Beatrice, Beatrix, Bea, Trixie
        Bethany, Beth
        Bridget, Bridgette, Bridie, Biddy
        Caroline, Carolyn, Carrie, Caro
        Caitlin, Caitlyn, Kaitlin, Kaitlyn, Katelyn, Cait
        Camilla, Millie, Milly
        Catherine, Katherine, Kathryn, Katharine, Catharine, Cathryn, Katarzyna, Kate, Katie, Katy, Kat, Cat, Cate, Cathy, Kathy, Kitty
        Kathleen, Kath, Kathy
        Cecilia, Cecily, Cissy, Cissie
        Charlotte, Charlie, Lottie, Lotty, Lotte
        Christina, Kristina, Krystyna, Chris, Chrissie, Chrissy, Tina
        Christine, Kristine, Chris, Chrissie, Chrissy, Tina
        Cynthia, Cindy
        Danielle, Dani, Danni
        Deborah, Debra, Debbie, Debby, Deb
        Dorothy, Dot, Dotty, Dottie, Dolly
        Eleanor, Elinor, Eleanore, Elenor, Ellie, Elly, Nell, Nellie, Nora, Norah
        Ellen, Ellie, Nell, Nellie
        Elizabeth, Elisabeth, Elzbieta, Eliza, Liza, Beth, Betty, Betsy, Bess, Bessie, Liz, Lizzie, Lizzy, Libby
        Emily, Emilie, Em, Emmy, Emmie
        Emma, Em, Emmy
        Evelyn, Eve, Evie
        Florence, Flo, Florrie, Flossie
        Frances, Fran, Frankie, Fanny
        Francesca, Fran, Frankie, Chessie
        Gabriella, Gabriela, Gabi, Gabby, Gabbie
        Gabrielle, Gabi, Gabby, Gabbie
        Georgina, Georgie, Gina
        Georgia, Georgie
        Geraldine, Gerry, Geri
        Gertrude, Gertie, Trudy
        Gillian, Jillian, Gill, Jill, Gilly
        Grace, Gracie
        Gwendolen, Gwendolyn, Gwen
        Hannah, Hanna, Hana
        Harriet, Harriett, Hattie, Hatty
        Henrietta, Hettie, Hetty, Etta
        Imogen, Immy
        Isabella, Isabelle, Isabel, Isobel, Izabela, Izabella, Bella, Belle, Izzy, Izzie, Issy
        Jacqueline, Jackie, Jacqui, Jacky
        Jennifer, Jen, Jenny, Jennie, Jenni
        Jessica, Jess, Jessie, Jessy
        Joanna, Jo
        Joanne, Jo
        Josephine, Jo, Josie
        Judith, Judy
        Kimberley, Kimberly, Kim
        Kirsten, Kirsty, Kirstie
        Layla, Laila, Leila, Lailah, Leyla, Laylah
        Lillian, Lilian, Lily, Lilly, Lillie, Lil
        Louisa, Louise, Lou, Lulu
        Lucinda, Lucy, Cindy
        Madeleine, Madeline, Madelyn, Madalyn, Maddie, Maddy
        Madison, Maddison, Maddie, Maddy
        Margaret, Maggie, Meg, Peggy, Marge, Margie, Madge
        Matilda, Mathilda, Tilly, Tillie, Tilda, Mattie
        Megan, Meghan, Meg
        Melanie, Mel
        Melissa, Mel, Missy
        Mildred, Millie, Milly
        Natalie, Nathalie, Natalia, Nat
        Natasha, Tasha, Tash
        Nicola, Nicky, Nikki, Nicki
        Nicole, Nicky, Nikki, Nicki
        Olivia, Liv, Livvy, Livvie
        Pamela, Pam
        Patricia, Pat, Patty, Trish, Tricia, Trisha, Patsy
        Penelope, Penny, Pen
        Philippa, Phillipa, Pippa, Pip
        Rebecca, Rebekah, Becky, Becca, Bex
        Rosalind, Ros, Roz, Rosie
        Rose, Rosie, Rosy
        Rosemary, Rose, Rosie, Rosy
        Rosalie, Rosie
        Samantha, Sam, Sammy, Sammie
        Sarah, Sara, Sally
        Sophia, Sofia, Sophie, Sofie, Zofia, Soph, Sof
        Stephanie, Steph, Stevie
        Susan, Sue, Susie, Suzie, Suzy
        Suzanne, Susanne, Sue, Susie, Suzie, Suzy
        Susannah, Susanna, Suzannah, Sue, Susie, Suzie, Suzy
        Tabitha, Tabby
        Tamara, Tammy
        Theresa, Teresa, Tess, Tessa, Tessie, Terri
        Valerie, Val
        Veronica, Ronnie, Roni
        Victoria, Wiktoria, Vicky, Vicki, Vikki, Tori, Torie, Tory
        Winifred, Winnie
        Zoe, Zoey, Zoie
        # Transliteration variants
        Aisha, Ayesha, Aysha, Aishah
        Fatima, Fatimah, Fatema
        Maryam, Mariam, Mariyam
        # Short forms added after the groups above were numbered (a new line goes last). Only pet
        # forms no one is likely to give a twin of the longer name as a name of their own.
        Louis, Louie
        Isaac, Ike, Zac
        Edith, Edie
        Jasmine, Jazz, Jaz, Jas
        Julia, Jules
        Julian, Jules
        Mabel, Mabs
        Ruby, Rubes
        Lucy, Lu
        Alice, Ally
        Scarlett, Letty
        Harrison, Harry, Haz
        Finley, Finn
        Elijah, Eli
        Elliot, Elliott, Eli
        Caleb, Cal
        Jaxon, Jaxson, Jackson, Jax
        Tyler, Ty
        Lewis, Lew
        Connor, Conor, Con
        Dexter, Dex
        Jayden, Jaden, Jay
        Rafael, Raphael, Rafa
        Lucas, Lukas, Luke
        Emilia, Millie, Milly, Emmy
        Felicity, Fliss, Flick
        Zuzanna, Zuza, Zuzia
        Phoebe, Phoebs
        Violet, Vi
        @familiar
        # Familiar forms that are names of their own, or shared by two names, so two children (twins
        # included) can be given them: one name only where no second child of that date is known.
        Amelia, Mia, Amy
        Emily, Millie, Milly
        Olivia, Ollie, Olly, Livy
        Hannah, Annie
        Martha, Mattie
        Arabella, Bell
        Isabella, Bell
        Isabella, Ella
        Ella, Ellie
        Eleanor, Ella, Elle
        Mary, Molly, Mae
        Mary, Polly
        Margaret, Maisie
        Margaret, Daisy
        Elizabeth, Elsie
        Elizabeth, Lisa
        Leonard, Leo
        Leonardo, Leo
        Alfred, Fred, Freddie
        Delilah, Lila
        Florence, Floss
        Evelyn, Eva
        """
}

/// Why a nickname table could not be built. The description names the line number and the
/// problem; table entries are not personal data.
public struct NicknameTableError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        /// An entry has no letters, or letters that cannot be folded to ASCII.
        public static let badName = Code("badName")
        /// A group has fewer than two distinct names.
        public static let singletonGroup = Code("singletonGroup")
        /// Two lines hold exactly the same names.
        public static let duplicateGroup = Code("duplicateGroup")
    }

    public let code: Code
    /// 1-based line number in the table text.
    public let line: Int
    public let entry: String

    public var description: String { "nickname table line \(line): \(code) \"\(entry)\"" }
}

/// Given-name equivalence groups (diminutives, preferred forms, spelling and transliteration
/// variants) for comparing and blocking given names.
///
/// Lookups use the key's precomputed fingerprint in a small open-addressing table: no allocation
/// and no re-hashing of the name per comparison.
public struct NicknameTable: Sendable {
    /// The built-in UK table, `standardText`.
    public static let standard: NicknameTable = {
        do {
            return try NicknameTable(table: standardText)
        } catch {
            fatalError("built-in nickname table is invalid: \(error)")
        }
    }()

    /// Number of groups (lines).
    public let groupCount: Int
    /// Each group's label (its first name), indexed by group id − 1, for review screens.
    public let groupLabels: [String]
    /// Groups from this id on are familiar forms (after the `@familiar` line); `UInt32.max` when none.
    public let firstFamiliarGroup: UInt32

    /// Given-name pairs learned from identifier-joined records (`withLearned`); none in `standard`.
    public private(set) var learned = LearnedAliases.none

    /// The line that starts the familiar forms.
    static let familiarDirective = "@familiar"

    /// Distinct names, their fingerprints, and the range of their group ids in `memberships`.
    private let names: [[UInt8]]
    private let fingerprints: [UInt64]
    private let membershipStart: [Int32]
    private let membershipEnd: [Int32]
    /// Group ids per name, ascending within each name's range.
    private let memberships: [UInt32]
    /// Per name (index into `names`): the other names sharing a group with it, familiar forms included.
    private let forms: [[Int32]]
    /// Open addressing: name index + 1, 0 for an empty slot.
    private let slots: [Int32]
    private let slotShift: UInt64

    /// Builds a table from text in the format of `standardText`.
    public init(table text: String) throws(NicknameTableError) {
        var groupsByName: [[UInt8]: [UInt32]] = [:]
        var order: [[UInt8]] = []
        var labels: [String] = []
        var seenGroups: Set<[[UInt8]]> = []
        var firstFamiliar = UInt32.max
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.nicknameTableTrimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == Self.familiarDirective {
                firstFamiliar = UInt32(labels.count + 1)
                continue
            }
            var members: [[UInt8]] = []
            for entry in line.split(separator: ",") {
                let entry = entry.nicknameTableTrimmed
                guard let key = NameKey(entry) else {
                    throw NicknameTableError(code: .badName, line: lineNumber, entry: entry)
                }
                if !members.contains(key.bytes) { members.append(key.bytes) }
            }
            guard members.count >= 2 else {
                throw NicknameTableError(code: .singletonGroup, line: lineNumber, entry: line)
            }
            guard seenGroups.insert(members.sorted { $0.lexicographicallyPrecedes($1) }).inserted else {
                throw NicknameTableError(code: .duplicateGroup, line: lineNumber, entry: line)
            }
            labels.append(String(line.split(separator: ",")[0]).nicknameTableTrimmed)
            let id = UInt32(labels.count)
            for name in members {
                if groupsByName[name] == nil { order.append(name) }
                groupsByName[name, default: []].append(id)
            }
        }
        groupCount = labels.count
        groupLabels = labels
        firstFamiliarGroup = firstFamiliar

        var names: [[UInt8]] = []
        var fingerprints: [UInt64] = []
        var starts: [Int32] = []
        var ends: [Int32] = []
        var memberships: [UInt32] = []
        for name in order {
            names.append(name)
            fingerprints.append(NameKey.fnv1a(name))
            starts.append(Int32(memberships.count))
            memberships += groupsByName[name]!  // ascending: ids were appended in line order
            ends.append(Int32(memberships.count))
        }
        var bits: UInt64 = 4
        while (1 << bits) < 2 * max(names.count, 1) { bits += 1 }
        var slots = [Int32](repeating: 0, count: 1 << bits)
        let shift = 64 - bits
        let mask = (1 << bits) - 1
        for (index, fingerprint) in fingerprints.enumerated() {
            var slot = Int(NicknameTable.mix(fingerprint) >> shift)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
        var indexOfName: [[UInt8]: Int32] = [:]
        for (index, name) in names.enumerated() { indexOfName[name] = Int32(index) }
        var membersOfGroup: [UInt32: [Int32]] = [:]
        for (name, groups) in groupsByName {
            for group in groups { membersOfGroup[group, default: []].append(indexOfName[name]!) }
        }
        self.forms = names.indices.map { index in
            var others: [Int32] = []
            for group in memberships[Int(starts[index])..<Int(ends[index])] {
                for other in membersOfGroup[group] ?? [] where other != Int32(index) && !others.contains(other) {
                    others.append(other)
                }
            }
            return others.sorted()
        }
        self.names = names
        self.fingerprints = fingerprints
        self.membershipStart = starts
        self.membershipEnd = ends
        self.memberships = memberships
        self.slots = slots
        self.slotShift = shift
    }

    @inline(__always)
    private static func mix(_ fingerprint: UInt64) -> UInt64 { fingerprint &* 0x9E37_79B9_7F4A_7C15 }

    /// Index of the key's name in `names`, or nil when the name is in no group.
    @inline(__always)
    private func index(of key: NameKey) -> Int? {
        let mask = slots.count - 1
        var slot = Int(NicknameTable.mix(key.fingerprint) >> slotShift)
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            let i = entry - 1
            if fingerprints[i] == key.fingerprint && names[i] == key.bytes { return i }
            slot = (slot + 1) & mask
        }
    }

    /// Ids of all groups holding the name (matched on `bytes`), ascending; empty if none.
    public func groups(of key: NameKey) -> ArraySlice<UInt32> {
        guard let i = index(of: key) else { return [] }
        return memberships[Int(membershipStart[i])..<Int(membershipEnd[i])]
    }

    /// The smallest id of the groups holding the name, for blocking; nil if the name is in none.
    ///
    /// Trade-off: a name in several groups (Charlie: Charles, Charlotte) blocks only under its
    /// smallest id, so "Charlie"/"Charlotte" share a blocking key only if Charlotte's line comes
    /// first — here it does not (Charles is a boys' line, before the girls'). Pairs like that must
    /// meet through another blocking key (date of birth, postcode, NHS number). Blocking under every
    /// id in `groups(of:)` instead catches them at the cost of larger blocks.
    public func canonicalGroup(of key: NameKey) -> UInt32? {
        guard let i = index(of: key) else { return nil }
        return memberships[Int(membershipStart[i])]
    }

    /// True when the names are equal (`bytes`) or some group before the familiar forms holds both:
    /// a familiar form alone (Mia for Amelia) does not count.
    public func areEquivalent(_ a: NameKey, _ b: NameKey) -> Bool {
        shareGroup(a, b, below: firstFamiliarGroup)
    }

    /// True when the names are equivalent, one is a familiar form of the other (`@familiar`), or the
    /// two are an alias learned from the records (`learned`), which counts as a familiar form.
    public func areEquivalentIncludingFamiliarForms(_ a: NameKey, _ b: NameKey) -> Bool {
        shareGroup(a, b, below: .max) || learned.alias(a, b) != nil
    }

    /// This table with the aliases a full run learned from its records (`LearnedAliases.learn`).
    /// They are not groups: blocking keys (`canonicalGroup`) and the table's own lines do not change.
    public func withLearned(_ aliases: LearnedAliases) -> NicknameTable {
        var table = self
        table.learned = aliases
        return table
    }

    /// Whether the names are equal or share a group with an id below `limit`.
    private func shareGroup(_ a: NameKey, _ b: NameKey, below limit: UInt32) -> Bool {
        if a.fingerprint == b.fingerprint && a.bytes == b.bytes { return true }
        guard let i = index(of: a), let j = index(of: b) else { return false }
        // Both ranges are short and ascending: merge-intersect.
        var p = Int(membershipStart[i])
        let pEnd = Int(membershipEnd[i])
        var q = Int(membershipStart[j])
        let qEnd = Int(membershipEnd[j])
        while p < pEnd && q < qEnd {
            let x = memberships[p]
            let y = memberships[q]
            if x == y { return x < limit }
            if x < y { p += 1 } else { q += 1 }
        }
        return false
    }

    /// True when the name is in some group.
    public func contains(_ key: NameKey) -> Bool { index(of: key) != nil }

    /// Calls `body` with the letters of each other form of the name (the names sharing a group with
    /// it, familiar forms included) until it returns true; whether one did.
    public func anyForm(of key: NameKey, where body: ([UInt8]) -> Bool) -> Bool {
        guard let i = index(of: key) else { return false }
        return forms[i].contains { body(names[Int($0)]) }
    }
}

extension StringProtocol {
    fileprivate var nicknameTableTrimmed: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
