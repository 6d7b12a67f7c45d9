package dataset

import (
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

const testSuffix = "cjsm.test"

func generate(t *testing.T, scale float64, seed uint64) *Dataset {
	t.Helper()
	d, err := Generate(Options{Scale: scale, Seed: seed, Suffix: testSuffix})
	if err != nil {
		t.Fatalf("Generate(scale %v, seed %d): %v", scale, seed, err)
	}
	return d
}

func allPeople(t *testing.T, d *Dataset) [][]store.Person {
	t.Helper()
	out := make([][]store.Person, len(d.Organisations))
	for i := range d.Organisations {
		people, err := d.People(i)
		if err != nil {
			t.Fatalf("People(%d): %v", i, err)
		}
		out[i] = people
	}
	return out
}

func TestGenerateSameSeedSameOutput(t *testing.T) {
	a := generate(t, 0.01, 7)
	b := generate(t, 0.01, 7)

	if !reflect.DeepEqual(a.Organisations, b.Organisations) {
		t.Error("organisations differ between two runs with seed 7")
	}
	if !reflect.DeepEqual(a.Domains, b.Domains) {
		t.Error("domains differ between two runs with seed 7")
	}
	peopleA, peopleB := allPeople(t, a), allPeople(t, b)
	for i := range peopleA {
		if !reflect.DeepEqual(peopleA[i], peopleB[i]) {
			t.Fatalf("people of organisation %d (%s) differ between two runs with seed 7",
				i, a.Organisations[i].Slug)
		}
	}
}

func TestPeopleIndependentOfCallOrder(t *testing.T) {
	d := generate(t, 0.01, 3)
	forward := allPeople(t, d)
	for i := len(d.Organisations) - 1; i >= 0; i-- {
		again, err := d.People(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, forward[i]) {
			t.Fatalf("People(%d) called last differs from People(%d) called in order", i, i)
		}
	}
}

func TestGenerateDifferentSeedDiffers(t *testing.T) {
	a := generate(t, 0.01, 1)
	b := generate(t, 0.01, 2)
	if reflect.DeepEqual(a.Organisations, b.Organisations) {
		t.Error("seeds 1 and 2 gave the same organisations")
	}
	pa, err := a.People(0)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.People(0)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(pa, pb) {
		t.Error("seeds 1 and 2 gave the same people in the first organisation")
	}
}

func TestGenerateCountsMatchScale(t *testing.T) {
	for _, scale := range []float64{0.001, 0.01, 0.03} {
		want, err := ScaledCounts(scale)
		if err != nil {
			t.Fatal(err)
		}
		d := generate(t, scale, 1)
		people := 0
		for _, list := range allPeople(t, d) {
			people += len(list)
		}

		if got := len(d.Organisations); got != want.Organisations {
			t.Errorf("scale %v: %d organisations, want %d", scale, got, want.Organisations)
		}
		if got := len(d.Domains); got != want.Domains {
			t.Errorf("scale %v: %d domains, want %d", scale, got, want.Domains)
		}
		if people != want.People {
			t.Errorf("scale %v: %d people, want %d", scale, people, want.People)
		}
		if s := d.Summary(); s.People != people {
			t.Errorf("scale %v: Summary reports %d people, People returns %d", scale,
				s.People, people)
		}
	}
}

func TestScaledCounts(t *testing.T) {
	tests := []struct {
		scale   float64
		want    Counts
		wantErr bool
	}{
		{scale: 1, want: Counts{10_000, 12_000, 478_000}},
		{scale: 0.01, want: Counts{100, 120, 4_780}},
		{scale: 1e-9, want: Counts{1, 1, 1}},
		{scale: 10, want: Counts{100_000, 120_000, 4_780_000}},
		{scale: 0, wantErr: true},
		{scale: -1, wantErr: true},
		{scale: 10.5, wantErr: true},
		{scale: math.NaN(), wantErr: true},
		{scale: math.Inf(1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := ScaledCounts(tt.scale)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ScaledCounts(%v) = %+v, want an error", tt.scale, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ScaledCounts(%v): %v", tt.scale, err)
		} else if got != tt.want {
			t.Errorf("ScaledCounts(%v) = %+v, want %+v", tt.scale, got, tt.want)
		}
	}
}

// depthOf walks up the ParentID chain of organisation i.
func depthOf(t *testing.T, orgs []store.Organisation, index map[int64]int, i int) int {
	t.Helper()
	depth := 1
	for id := orgs[i].ParentID; id != 0; depth++ {
		p, ok := index[id]
		if !ok {
			t.Fatalf("organisation %s has parent ID %d, which is not in the dataset",
				orgs[i].Slug, id)
		}
		if p >= i {
			t.Fatalf("organisation %s comes before its parent %s", orgs[i].Slug, orgs[p].Slug)
		}
		id = orgs[p].ParentID
	}
	return depth
}

func TestGenerateNesting(t *testing.T) {
	d := generate(t, 0.1, 1)
	index := map[int64]int{}
	for i, o := range d.Organisations {
		index[o.ID] = i
	}

	subs, maxDepth := 0, 0
	for i, o := range d.Organisations {
		depth := depthOf(t, d.Organisations, index, i)
		if depth != d.Depth(i) {
			t.Errorf("%s: Depth reports %d, the parent chain has %d levels", o.Slug,
				d.Depth(i), depth)
		}
		if o.ParentID != 0 {
			subs++
		}
		maxDepth = max(maxDepth, depth)
	}

	if share := float64(subs) / float64(len(d.Organisations)); share < 0.2 || share > 0.3 {
		t.Errorf("%d of %d organisations (%.0f%%) are sub-organisations, want about a quarter",
			subs, len(d.Organisations), share*100)
	}
	if maxDepth != 3 {
		t.Errorf("the deepest organisation is at level %d, want 3", maxDepth)
	}
	if s := d.Summary(); s.SubOrganisations != subs || s.MaxDepth != maxDepth {
		t.Errorf("Summary reports %d sub-organisations at depth up to %d, want %d and %d",
			s.SubOrganisations, s.MaxDepth, subs, maxDepth)
	}
}

func TestGenerateCoversEverySector(t *testing.T) {
	d := generate(t, 0.1, 1)
	seen := map[string]int{}
	for _, o := range d.Organisations {
		seen[o.Sector]++
	}
	for _, s := range sectors {
		if seen[s.name] == 0 {
			t.Errorf("no organisation in sector %s", s.name)
		}
	}
}

func TestGeneratedDomainsAreReservedNames(t *testing.T) {
	d := generate(t, 0.05, 1)
	orgs := map[int64]store.Organisation{}
	for _, o := range d.Organisations {
		orgs[o.ID] = o
	}
	seen := map[string]bool{}
	for _, dom := range d.Domains {
		if seen[dom.Name] {
			t.Errorf("domain %s appears twice", dom.Name)
		}
		seen[dom.Name] = true
		if canonical, err := address.ParseDomain(dom.Name); err != nil {
			t.Errorf("domain %s is invalid: %v", dom.Name, err)
		} else if canonical != dom.Name {
			t.Errorf("domain %s is not canonical (%s)", dom.Name, canonical)
		}

		o := orgs[dom.OrgID]
		switch dom.Kind {
		case store.DomainHosted:
			if dom.Name != o.Slug+"."+testSuffix {
				t.Errorf("hosted domain %s of %s, want %s.%s", dom.Name, o.Slug, o.Slug,
					testSuffix)
			}
		case store.DomainGateway:
			if !strings.HasSuffix(dom.Name, ".example") && !strings.HasSuffix(dom.Name, ".test") {
				t.Errorf("gateway domain %s is not under .example or .test", dom.Name)
			}
			if address.IsUnderSuffix(dom.Name, testSuffix) {
				t.Errorf("gateway domain %s is under the community suffix", dom.Name)
			}
			if o.Kind != store.KindGateway {
				t.Errorf("gateway domain %s belongs to hosted organisation %s", dom.Name,
					o.Slug)
			}
			if !strings.HasPrefix(dom.VerificationToken, "cjsm-verify=") {
				t.Errorf("gateway domain %s has token %q", dom.Name, dom.VerificationToken)
			}
		default:
			t.Errorf("domain %s has kind %q", dom.Name, dom.Kind)
		}
	}
}

// TestGeneratedAddressesFollowAddressRules replays the directory's address assignment
// over the generated people, in order, and expects the same addresses.
func TestGeneratedAddressesFollowAddressRules(t *testing.T) {
	d := generate(t, 0.03, 5)
	domainsOf := map[int64]map[string]bool{}
	for _, dom := range d.Domains {
		if domainsOf[dom.OrgID] == nil {
			domainsOf[dom.OrgID] = map[string]bool{}
		}
		domainsOf[dom.OrgID][dom.Name] = true
	}

	keys := map[string]bool{}
	numbered := 0
	for i, people := range allPeople(t, d) {
		o := d.Organisations[i]
		for _, p := range people {
			if keys[p.AddressKey] {
				t.Fatalf("address key %s is used twice", p.AddressKey)
			}
			a, err := address.Parse(p.Address)
			if err != nil {
				t.Fatalf("address %q of %s %s is invalid: %v", p.Address, p.FirstName,
					p.LastName, err)
			}
			if address.Key(a) != p.AddressKey {
				t.Errorf("address %s has key %s, want %s", p.Address, p.AddressKey,
					address.Key(a))
			}
			if o.Kind == store.KindHosted {
				checkHosted(t, o, p, keys)
			} else {
				checkGateway(t, o, p, domainsOf[o.ID], keys)
			}
			if !strings.HasPrefix(a.Local, address.HostedLocalPart(p.FirstName, p.LastName)) {
				t.Errorf("address %s does not start with the first.last of %s %s",
					p.Address, p.FirstName, p.LastName)
			}
			if a.Local != address.HostedLocalPart(p.FirstName, p.LastName) {
				numbered++
			}
			keys[p.AddressKey] = true
		}
	}
	if numbered == 0 {
		t.Error("no address needed a number; the test does not cover collisions")
	}
}

func checkHosted(t *testing.T, o store.Organisation, p store.Person, taken map[string]bool) {
	t.Helper()
	want, err := address.HostedAddress(p.FirstName, p.LastName, o.Slug, testSuffix,
		func(c string) bool { return taken[c] })
	if err != nil {
		t.Fatalf("HostedAddress(%s %s): %v", p.FirstName, p.LastName, err)
	}
	if p.Address != want.String() {
		t.Errorf("hosted person %s %s in %s has %s, the directory would assign %s",
			p.FirstName, p.LastName, o.Slug, p.Address, want)
	}
	if p.PlainAddress != "" {
		t.Errorf("hosted person %s has plain address %s", p.Address, p.PlainAddress)
	}
}

func checkGateway(t *testing.T, o store.Organisation, p store.Person, domains map[string]bool,
	taken map[string]bool) {
	t.Helper()
	plain, err := address.Parse(p.PlainAddress)
	if err != nil {
		t.Fatalf("plain address %q is invalid: %v", p.PlainAddress, err)
	}
	if !domains[plain.Domain] {
		t.Errorf("plain address %s is not in a domain of %s", plain, o.Slug)
	}
	community, err := address.CommunityForm(plain, testSuffix)
	if err != nil {
		t.Fatalf("CommunityForm(%s): %v", plain, err)
	}
	if p.Address != community.String() {
		t.Errorf("gateway person has %s, the community form of %s is %s", p.Address, plain,
			community)
	}
	if taken[address.Key(community)] {
		t.Errorf("gateway address %s was already taken", community)
	}
}

func TestGeneratedPeopleFields(t *testing.T) {
	d := generate(t, 0.03, 1)
	ranges := make([]string, len(phoneRanges))
	for i, r := range phoneRanges {
		ranges[i] = regexp.QuoteMeta(r)
	}
	phone := regexp.MustCompile(`^(` + strings.Join(ranges, "|") + `)[0-9]{3}$`)

	statuses := map[string]int{}
	exDirectory, total := 0, 0
	for i, people := range allPeople(t, d) {
		o := d.Organisations[i]
		for k, p := range people {
			total++
			statuses[p.Status]++
			if p.ExDirectory {
				exDirectory++
			}
			if !phone.MatchString(p.Phone) {
				t.Errorf("phone %q of %s is not in an Ofcom drama range", p.Phone, p.Address)
			}
			if p.JobTitle == "" {
				t.Errorf("%s has no job title", p.Address)
			}
			if !strings.HasPrefix(p.Roles, store.RoleUser) {
				t.Errorf("%s has roles %q, which must start with user", p.Address, p.Roles)
			}
			if o.Status == store.StatusClosed && p.Status != store.StatusClosed {
				t.Errorf("%s is %s in closed organisation %s", p.Address, p.Status, o.Slug)
			}
			if !p.LastSignIn.IsZero() && p.LastSignIn.Before(p.CreatedAt) {
				t.Errorf("%s signed in at %v, before the account was created at %v",
					p.Address, p.LastSignIn, p.CreatedAt)
			}
			if k == 0 {
				checkFirstPerson(t, o, p)
			}
		}
	}

	for status := range statuses {
		switch status {
		case store.StatusActive, store.StatusSuspended, store.StatusLocked,
			store.StatusClosed:
		default:
			t.Errorf("%d people have status %q", statuses[status], status)
		}
	}
	if share := float64(statuses[store.StatusActive]) / float64(total); share < 0.85 {
		t.Errorf("%.0f%% of people are active, want most", share*100)
	}
	if statuses[store.StatusSuspended] == 0 || statuses[store.StatusClosed] == 0 {
		t.Errorf("statuses %v, want some suspended and some closed", statuses)
	}
	if share := float64(exDirectory) / float64(total); share == 0 || share > 0.1 {
		t.Errorf("%.1f%% of people are ex-directory, want a few", share*100)
	}
}

// checkFirstPerson checks that an organisation's first person administers it and, at the
// top level, signs for it.
func checkFirstPerson(t *testing.T, o store.Organisation, p store.Person) {
	t.Helper()
	if !strings.Contains(p.Roles, store.RoleOrgAdmin) {
		t.Errorf("first person of %s has roles %q, want org-admin", o.Slug, p.Roles)
	}
	signs := strings.Contains(p.Roles, store.RoleSignatory)
	if signs != (o.ParentID == 0) {
		t.Errorf("first person of %s (parent %d) has roles %q", o.Slug, o.ParentID, p.Roles)
	}
	if o.SignatoryEmail != p.Address {
		t.Errorf("%s has signatory %s, but its first person is %s", o.Slug,
			o.SignatoryEmail, p.Address)
	}
	if o.SignatoryName != p.FirstName+" "+p.LastName {
		t.Errorf("%s has signatory %q, want %q", o.Slug, o.SignatoryName,
			p.FirstName+" "+p.LastName)
	}
}

func TestGenerateAvoidsExistingNames(t *testing.T) {
	first := generate(t, 0.01, 1)
	var slugs, domains []string
	for _, o := range first.Organisations {
		slugs = append(slugs, o.Slug)
	}
	for _, dom := range first.Domains {
		domains = append(domains, dom.Name)
	}

	second, err := Generate(Options{Scale: 0.01, Seed: 1, Suffix: testSuffix,
		ExistingSlugs: slugs, ExistingDomains: domains, FirstOrgID: 101})
	if err != nil {
		t.Fatal(err)
	}
	takenSlugs := map[string]bool{}
	for _, s := range slugs {
		takenSlugs[s] = true
	}
	takenDomains := map[string]bool{}
	for _, dn := range domains {
		takenDomains[dn] = true
	}
	for _, o := range second.Organisations {
		if takenSlugs[o.Slug] {
			t.Errorf("slug %s was already taken", o.Slug)
		}
		if o.ID < 101 {
			t.Errorf("organisation %s has ID %d, below FirstOrgID 101", o.Slug, o.ID)
		}
	}
	for _, dom := range second.Domains {
		if takenDomains[dom.Name] {
			t.Errorf("domain %s was already taken", dom.Name)
		}
	}
}

func TestGenerateRejectsInvalidSuffix(t *testing.T) {
	if _, err := Generate(Options{Scale: 0.01, Suffix: "Not A Suffix"}); err == nil {
		t.Error("Generate accepted the suffix \"Not A Suffix\"")
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		total   int
		weights []float64
		want    []int
	}{
		{10, []float64{1, 1}, []int{5, 5}},
		{10, []float64{3, 1}, []int{8, 2}},
		{3, []float64{1, 1, 1, 1}, []int{1, 1, 1, 0}},
		{5, []float64{0, 0}, []int{3, 2}},
		{7, []float64{0, 2}, []int{0, 7}},
		{0, []float64{1}, []int{0}},
		{4, nil, []int{}},
	}
	for _, tt := range tests {
		got := apportion(tt.total, tt.weights)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
		}
	}
}

func TestNameListsHaveEveryOrigin(t *testing.T) {
	firstTotal, lastTotal := 0, 0
	for i, origin := range origins {
		if len(names.first[i]) < 10 || len(names.last[i]) < 10 {
			t.Errorf("origin %s has %d given names and %d family names, want at least 10",
				origin, len(names.first[i]), len(names.last[i]))
		}
		firstTotal += len(names.first[i])
		lastTotal += len(names.last[i])
	}
	if firstTotal < 300 || lastTotal < 300 {
		t.Errorf("%d given names and %d family names, want a few hundred of each",
			firstTotal, lastTotal)
	}
}

func TestParseNameList(t *testing.T) {
	full := "[" + strings.Join(origins, "]\nX\n[") + "]\nX\n"
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"every origin", full, ""},
		{"name before origin", "Smith\n" + full, "before any [origin]"},
		{"unknown origin", full + "[martian]\nZork\n", "unknown origin"},
		{"origin without names", "# comment\n[english]\nSmith\n", "has no names"},
	}
	for _, tt := range tests {
		_, err := parseNameList("test.txt", tt.text)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
}
