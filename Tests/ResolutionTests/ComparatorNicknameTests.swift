import Resolution
import Testing

private func key(_ s: String) -> NameKey { NameKey(s)! }

@Suite("Comparators: nickname table")
struct ComparatorNicknameTests {
    let table = NicknameTable.standard

    @Test func standardTableIsLargeEnough() {
        #expect(table.groupCount >= 150)
        #expect(table.groupLabels.count == table.groupCount)
        #expect(table.groupLabels.first == "Albert")
    }

    @Test(
        "equivalent in both directions",
        arguments: [
            ("Alfie", "Alfred"), ("Alex", "Alexander"), ("Alex", "Alexandra"), ("Alexa", "Alexandra"),
            ("Sasha", "Alexander"), ("Ellie", "Eleanor"), ("Harry", "Henry"), ("Hal", "Henry"),
            ("Charlie", "Charlotte"), ("Charlie", "Charles"), ("Chaz", "Charles"), ("Bella", "Isabella"),
            ("Izzy", "Isabelle"), ("Jack", "John"), ("Johnny", "Jon"), ("Maddie", "Madison"),
            ("Maddie", "Madeleine"), ("Sam", "Samuel"), ("Sam", "Samantha"), ("Sammy", "Samuel"),
            ("Freddie", "Frederick"), ("Fred", "Freddie"), ("Ollie", "Oliver"), ("Archie", "Archibald"),
            ("Billy", "William"), ("Liam", "William"), ("Bill", "Will"), ("Bobby", "Robert"), ("Rob", "Bob"),
            ("Robbie", "Robert"), ("Teddy", "Edward"), ("Ted", "Theodore"), ("Theo", "Theodore"),
            ("Eddie", "Ed"), ("Kate", "Katherine"), ("Katie", "Catherine"), ("Kathryn", "Kitty"),
            ("Cathy", "Katherine"), ("Beth", "Elizabeth"), ("Eliza", "Lizzie"), ("Libby", "Elizabeth"),
            ("Betty", "Elizabeth"), ("Maggie", "Margaret"), ("Meg", "Peggy"), ("Jim", "James"),
            ("Jamie", "Jimmy"), ("Dan", "Daniel"), ("Danny", "Daniel"), ("Tom", "Thomas"), ("Tommy", "Tom"),
            ("Matt", "Matthew"), ("Nick", "Nicholas"), ("Mike", "Michael"), ("Mikey", "Michael"),
            ("Josh", "Joshua"), ("Ben", "Benjamin"), ("Benji", "Ben"), ("Zach", "Zachary"), ("Gabe", "Gabriel"),
            ("Abby", "Abigail"), ("Millie", "Amelia"), ("Millie", "Mildred"), ("Evie", "Evelyn"), ("Eve", "Evie"),
            ("Rosie", "Rose"), ("Rosie", "Rosalind"), ("Lottie", "Charlotte"), ("Nat", "Nathan"),
            ("Nat", "Nathaniel"), ("Nat", "Natalie"), ("Vicky", "Victoria"), ("Becky", "Rebecca"),
            ("Jess", "Jessica"), ("Sophie", "Sophia"), ("Gracie", "Grace"), ("Frankie", "Francesca"),
            ("Frankie", "Frances"), ("Frankie", "Francis"), ("Frank", "Francis"), ("Tilly", "Matilda"),
            ("Ronnie", "Ronald"), ("Ronnie", "Veronica"), ("Reggie", "Reginald"), ("Stevie", "Steven"),
            ("Steve", "Stephen"), ("Stephen", "Steven"), ("Tony", "Anthony"), ("Andy", "Andrew"),
            ("Drew", "Andrew"), ("Chris", "Christopher"), ("Chris", "Christine"), ("Chris", "Christina"),
            ("Pip", "Philip"), ("Phil", "Philip"), ("Pip", "Philippa"), ("Jen", "Jennifer"), ("Jenny", "Jen"),
            ("Mohammed", "Muhammad"), ("Piotr", "Peter"), ("Zoë", "Zoey"), ("Józef", "Joseph"),
        ])
    func equivalent(_ a: String, _ b: String) {
        #expect(table.areEquivalent(key(a), key(b)), "\(a) ~ \(b)")
        #expect(table.areEquivalent(key(b), key(a)), "\(b) ~ \(a)")
        let shared = Set(table.groups(of: key(a))).intersection(table.groups(of: key(b)))
        #expect(!shared.isEmpty)
    }

    @Test(
        "not equivalent",
        arguments: [
            // Different names that share a short form are not equivalent to each other.
            ("Charles", "Charlotte"), ("Samuel", "Samantha"), ("Alexander", "Alexandra"), ("Edward", "Theodore"),
            ("Nathan", "Natalie"), ("Francis", "Francesca"), ("Philip", "Philippa"), ("Christopher", "Christine"),
            ("Amelia", "Mildred"), ("Henry", "Harold"), ("George", "Georgia"), ("Joseph", "Josephine"),
            // Deliberately not grouped: independent names that siblings (twins) could have.
            ("Harry", "Harriet"), ("Alfie", "Freddie"), ("Alfie", "Fred"), ("Ellie", "Ella"), ("Eleanor", "Elena"),
            ("Millie", "Emily"), ("Molly", "Polly"), ("Molly", "Mary"), ("Maisie", "Margaret"),
            ("Elsie", "Elizabeth"), ("Leo", "Leonard"), ("Mia", "Amelia"), ("Oliver", "Olivia"),
            ("Ollie", "Olivia"), ("Jack", "James"), ("Lewis", "Louis"),
            // Names absent from the table are equivalent only to themselves.
            ("Xanthe", "Xenia"),
        ])
    func notEquivalent(_ a: String, _ b: String) {
        #expect(!table.areEquivalent(key(a), key(b)), "\(a) !~ \(b)")
        #expect(!table.areEquivalent(key(b), key(a)), "\(b) !~ \(a)")
    }

    /// Independent names that twins could have, and that are also one child's familiar form: listed
    /// after `@familiar`, so one name to the linkage model, never to `areEquivalent` (nor to the twin
    /// rule's "same name"). Molly and Polly, two forms of Mary, are still not one name.
    @Test(
        "familiar forms: equivalent only including familiar forms",
        arguments: [
            ("Ellie", "Ella"), ("Millie", "Emily"), ("Molly", "Mary"), ("Maisie", "Margaret"),
            ("Elsie", "Elizabeth"), ("Leo", "Leonard"), ("Mia", "Amelia"), ("Ollie", "Olivia"),
        ])
    func familiarFormsOnly(_ a: String, _ b: String) {
        #expect(table.areEquivalentIncludingFamiliarForms(key(a), key(b)), "\(a) ~ \(b)")
        #expect(table.areEquivalentIncludingFamiliarForms(key(b), key(a)), "\(b) ~ \(a)")
        #expect(!table.areEquivalentIncludingFamiliarForms(key("Molly"), key("Polly")))
    }

    @Test func equalNamesAreEquivalentEvenWhenNotInTheTable() {
        #expect(table.areEquivalent(key("Xanthe"), key("XANTHE")))
        #expect(!table.contains(key("Xanthe")))
        #expect(table.canonicalGroup(of: key("Xanthe")) == nil)
        #expect(table.groups(of: key("Xanthe")).isEmpty)
    }

    @Test func canonicalGroupIsSharedWithinAGroup() throws {
        for members in [
            ["Frederick", "Fred", "Freddie", "Freddy"], ["Oliver", "Ollie", "Olly"],
            ["Katherine", "Catherine", "Kate", "Katie", "Cathy", "Kitty"],
            ["Elizabeth", "Lizzie", "Libby", "Betty", "Eliza"], ["Matilda", "Tilly"],
        ] {
            let ids = Set(members.map { table.canonicalGroup(of: key($0)) })
            #expect(ids.count == 1, "\(members)")
            #expect(ids.first! != nil)
        }
        // Charlie is on the Charles and Charlotte lines; it blocks under the smaller id (Charles,
        // a boys' line, comes first).
        let charlie = try #require(table.canonicalGroup(of: key("Charlie")))
        #expect(charlie == table.canonicalGroup(of: key("Charles")))
        #expect(charlie != table.canonicalGroup(of: key("Charlotte")))
        #expect(table.groups(of: key("Charlie")).count == 2)
        #expect(table.groups(of: key("Charlie")).first == charlie)
        #expect(table.groupLabels[Int(charlie) - 1] == "Charles")
        // Likewise Beth (Bethany, Elizabeth) blocks under Bethany's line, which comes first.
        let beth = try #require(table.canonicalGroup(of: key("Beth")))
        #expect(table.groupLabels[Int(beth) - 1] == "Bethany")
        #expect(table.groups(of: key("Beth")).contains(try #require(table.canonicalGroup(of: key("Elizabeth")))))
    }

    @Test func customTableAndErrors() throws {
        let custom = try NicknameTable(
            table: """
                # comment
                Robert, Bob,  Bobby

                Roberta, Bobbie, Bobby
                """)
        #expect(custom.groupCount == 2)
        #expect(custom.areEquivalent(key("bob"), key("ROBERT")))
        #expect(custom.areEquivalent(key("Bobby"), key("Roberta")))
        #expect(!custom.areEquivalent(key("Bob"), key("Roberta")))
        #expect(custom.canonicalGroup(of: key("Bobby")) == 1)
        #expect(custom.canonicalGroup(of: key("Bobbie")) == 2)

        let bad = #expect(throws: NicknameTableError.self) {
            try NicknameTable(table: "Robert, Bob\nIvan, Иван")
        }
        #expect(bad?.code == .badName)
        #expect(bad?.line == 2)
        let single = #expect(throws: NicknameTableError.self) { try NicknameTable(table: "Robert, ROBERT") }
        #expect(single?.code == .singletonGroup)
        let duplicate = #expect(throws: NicknameTableError.self) {
            try NicknameTable(table: "Robert, Bob\nBob, Robert")
        }
        #expect(duplicate?.code == .duplicateGroup)
        #expect(duplicate?.line == 2)
    }
}
