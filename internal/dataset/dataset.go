// Package dataset generates a synthetic national community for cjsm and loads it into the
// store: organisations nested up to three levels deep across the justice sectors, their
// gateway and hosted domains, and the people in them with UK names, job titles and phone
// numbers.
//
// Generation is deterministic: the same Options give the same rows, byte for byte. Every
// gateway domain ends in .example or .test, which RFC 2606 reserves, and every phone
// number is in a range that Ofcom keeps for drama, so no generated row names a real
// mailbox or telephone. Addresses follow the rules of the address package, as the
// directory service would assign them.
//
// The package calls the store directly and bypasses the directory service, which writes
// one audit row per change and is too slow for half a million rows. Load writes one audit
// row for the whole load instead.
package dataset

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// The size of the national community, generated at Scale 1.
const (
	NationalOrganisations = 10_000
	NationalDomains       = 12_000
	NationalPeople        = 478_000
)

// MaxScale bounds Options.Scale. At 10 the generator holds about 100,000 organisations
// in memory and streams 4.78 million people.
const MaxScale = 10

// ReferenceTime is the "now" of a dataset generated with a zero Options.Now.
var ReferenceTime = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// Options selects which dataset Generate builds.
type Options struct {
	// Scale multiplies every count: 1 is the national size, 0.01 a hundredth of it.
	Scale float64
	// Seed selects the random sequence; the same Seed gives the same dataset.
	Seed uint64
	// Suffix is the community suffix, such as "cjsm.net".
	Suffix string
	// Now is the time creation and sign-in times are spread back from. Zero means
	// ReferenceTime, which keeps the output the same from day to day.
	Now time.Time
	// FirstOrgID is the ID of the first organisation; the others follow it. Zero means 1.
	FirstOrgID int64
	// ExistingSlugs and ExistingDomains are taken already: generated organisations and
	// domains avoid them, so the dataset can be loaded beside existing rows.
	ExistingSlugs   []string
	ExistingDomains []string
}

// Counts are the number of rows of each kind in a dataset.
type Counts struct {
	Organisations int
	Domains       int
	People        int
}

// Total returns the number of rows of all kinds.
func (c Counts) Total() int { return c.Organisations + c.Domains + c.People }

// ScaledCounts returns the row counts that Generate aims at for scale: the national counts
// times scale, rounded, and at least one of each.
func ScaledCounts(scale float64) (Counts, error) {
	if math.IsNaN(scale) || scale <= 0 || scale > MaxScale {
		return Counts{}, fmt.Errorf("dataset: scale %v is out of range; use a number "+
			"above 0 and at most %d (1 is the national size)", scale, MaxScale)
	}
	scaled := func(n int) int { return max(1, int(math.Round(float64(n)*scale))) }
	return Counts{Organisations: scaled(NationalOrganisations),
		Domains: scaled(NationalDomains), People: scaled(NationalPeople)}, nil
}

// Dataset is a generated community. Organisations lists parents before their children,
// with IDs from Options.FirstOrgID on. People are generated on demand, one organisation
// at a time, by People.
type Dataset struct {
	Organisations []store.Organisation
	Domains       []store.Domain

	opts   Options
	plans  []*orgPlan
	people int
}

// Summary describes the shape of a dataset.
type Summary struct {
	Counts
	SubOrganisations int // organisations with a parent
	MaxDepth         int // 1 for a top-level organisation
	GatewayDomains   int
	HostedDomains    int
}

// Summary returns the counts and the shape of the organisation tree.
func (d *Dataset) Summary() Summary {
	s := Summary{Counts: Counts{Organisations: len(d.Organisations),
		Domains: len(d.Domains), People: d.people}}
	for _, p := range d.plans {
		if p.parent != nil {
			s.SubOrganisations++
		}
		s.MaxDepth = max(s.MaxDepth, p.depth)
	}
	for _, dom := range d.Domains {
		if dom.Kind == store.DomainHosted {
			s.HostedDomains++
		} else {
			s.GatewayDomains++
		}
	}
	return s
}

// Depth returns the depth of organisation i in the tree: 1 for a top-level one.
func (d *Dataset) Depth(i int) int { return d.plans[i].depth }

// PeopleIn returns the number of people that People(i) generates.
func (d *Dataset) PeopleIn(i int) int { return d.plans[i].people }

// orgPlan is an organisation while the generator builds it.
type orgPlan struct {
	index  int
	parent *orgPlan
	depth  int
	sector *sector

	name, short, slug, label string
	kind                     string
	town                     *town
	subWeight                float64 // share of its level's children it gets
	treeWeight               float64 // share of the depth-3 organisations its subtree gets
	sizeWeight               float64 // share of the sector's people it gets
	fixedChildren            []childSpec
	children                 []*orgPlan
	optionOrder              []int

	status    string
	createdAt time.Time
	domains   []string // the first is the primary: people's addresses are there
	people    int

	signatoryFirst, signatoryLast string
}

// planner builds the organisation tree with one random sequence.
type planner struct {
	r       *rand.Rand
	opts    Options
	now     time.Time
	names   map[string]bool // lower-cased organisation names in use
	slugs   map[string]bool
	domains map[string]bool
	plans   []*orgPlan
}

// planStream and peopleStream separate the random sequences of the organisation tree and
// of each organisation's people, so that People(i) does not depend on the call order.
const (
	planStream   = 0x6f7267616e697361 // "organisa"
	peopleStream = 0x70656f706c65     // "people"
)

// Generate builds the dataset that opts describe.
func Generate(opts Options) (*Dataset, error) {
	counts, err := ScaledCounts(opts.Scale)
	if err != nil {
		return nil, err
	}
	if err := address.ValidateSuffix(opts.Suffix); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if opts.FirstOrgID == 0 {
		opts.FirstOrgID = 1
	}
	if opts.FirstOrgID < 0 {
		return nil, fmt.Errorf("dataset: first organisation ID %d is negative; use 0 or "+
			"a positive ID", opts.FirstOrgID)
	}
	now := opts.Now
	if now.IsZero() {
		now = ReferenceTime
	}
	now = now.UTC().Truncate(time.Second)

	g := &planner{r: rand.New(rand.NewPCG(opts.Seed, planStream)), opts: opts, now: now,
		names: map[string]bool{}, slugs: map[string]bool{}, domains: map[string]bool{}}
	for _, s := range opts.ExistingSlugs {
		g.slugs[s] = true
	}
	for _, dn := range opts.ExistingDomains {
		g.domains[dn] = true
	}

	orgQuotas := apportion(counts.Organisations, sectorWeights(sectors, nil))
	for i, s := range sectors {
		g.buildSector(s, orgQuotas[i])
	}
	g.assignStatusAndTimes()
	if err := g.assignDomains(counts.Domains - len(g.plans)); err != nil {
		return nil, err
	}
	g.assignPeople(counts.People)

	d := &Dataset{opts: opts, plans: g.plans}
	d.opts.Now = now
	for _, p := range g.plans {
		d.people += p.people
	}
	if err := d.buildRows(g); err != nil {
		return nil, err
	}
	return d, nil
}

// sectorWeights returns each sector's share of organisations, or its share of people
// when orgCounts is given. A sector with no organisations gets no people.
func sectorWeights(list []*sector, orgCounts []int) []float64 {
	w := make([]float64, len(list))
	for i, s := range list {
		if orgCounts == nil {
			w[i] = s.orgShare
		} else if orgCounts[i] > 0 {
			w[i] = s.peopleShare
		}
	}
	return w
}

// apportion splits total into whole parts proportional to weights, by the largest
// remainder method, so the parts always add up to total. Zero weights get zero unless
// every weight is zero, in which case the parts are as equal as possible.
func apportion(total int, weights []float64) []int {
	parts := make([]int, len(weights))
	if len(weights) == 0 || total <= 0 {
		return parts
	}

	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		weights = make([]float64, len(weights))
		for i := range weights {
			weights[i] = 1
		}
		sum = float64(len(weights))
	}

	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		parts[i] = int(exact)
		given += parts[i]
		rems[i] = rem{i, exact - float64(parts[i])}
	}

	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < total; k++ {
		parts[rems[k%len(rems)].i]++
		given++
	}
	return parts
}

// buildSector adds quota organisations of sector s: top-level ones first, then their
// sub-organisations, then the third level.
func (g *planner) buildSector(s *sector, quota int) {
	if quota <= 0 {
		return
	}
	tops := max(1, int(math.Round(float64(quota)*s.topShare)))
	if s.fixedTops != nil {
		tops = min(tops, len(s.fixedTops))
	}
	tops = min(tops, quota)
	rest := quota - tops
	grand := 0
	if s.grand != nil {
		grand = int(math.Round(float64(rest) * s.grandShare))
	}
	subs := rest - grand
	if s.child == nil {
		tops, subs, grand = quota, 0, 0
	} else if subs == 0 && grand > 0 {
		subs, grand = grand, 0
	}

	level1 := make([]*orgPlan, 0, tops)
	for i := 0; i < tops; i++ {
		var spec topSpec
		if s.fixedTops != nil {
			spec = s.fixedTops[i]
		} else {
			spec = s.newTop(g)
		}
		level1 = append(level1, g.addTop(s, spec))
	}
	level2 := g.addChildren(s, level1, subs, s.child)
	g.addChildren(s, level2, grand, s.grand)
}

// addChildren spreads n sub-organisations over parents by their subWeight.
func (g *planner) addChildren(s *sector, parents []*orgPlan, n int,
	newChild func(*planner, *orgPlan, int) childSpec) []*orgPlan {
	if n == 0 || len(parents) == 0 {
		return nil
	}
	weights := make([]float64, len(parents))
	for i, p := range parents {
		weights[i] = p.subWeight
	}
	var added []*orgPlan
	for i, count := range apportion(n, weights) {
		p := parents[i]
		for j := 0; j < count; j++ {
			var spec childSpec
			if j < len(p.fixedChildren) {
				spec = p.fixedChildren[j]
			} else {
				spec = newChild(g, p, j)
			}
			c := g.addChild(s, p, spec)
			// The children share the parent's weight, so that a large force's
			// divisions get more units than a small force's.
			c.treeWeight = p.treeWeight / float64(count) * g.lognormal(0.3)
			c.subWeight = c.treeWeight
			added = append(added, c)
		}
	}
	return added
}

func (g *planner) addTop(s *sector, spec topSpec) *orgPlan {
	p := &orgPlan{index: len(g.plans), depth: 1, sector: s, short: spec.short,
		label: spec.label, kind: spec.kind, town: spec.town, subWeight: spec.subWeight,
		treeWeight: spec.weight, sizeWeight: spec.weight * g.lognormal(s.sizeSpread),
		fixedChildren: spec.children}
	if p.subWeight == 0 {
		p.subWeight = math.Sqrt(spec.weight)
	}
	if p.short == "" {
		p.short = spec.name
	}
	g.claimName(p, spec.name)
	g.plans = append(g.plans, p)
	return p
}

func (g *planner) addChild(s *sector, parent *orgPlan, spec childSpec) *orgPlan {
	p := &orgPlan{index: len(g.plans), parent: parent, depth: parent.depth + 1, sector: s,
		label: spec.label, kind: parent.kind, town: spec.town}
	if p.town == nil {
		p.town = parent.town
	}
	g.claimName(p, spec.name)
	p.short = p.name
	parent.children = append(parent.children, p)
	g.plans = append(g.plans, p)
	return p
}

// lognormal returns a positive random factor with median 1.
func (g *planner) lognormal(sigma float64) float64 {
	return math.Exp(g.r.NormFloat64() * sigma)
}

func (g *planner) nameUsed(name string) bool { return g.names[strings.ToLower(name)] }

// townName fills one of patterns with a town, trying others while the name is in use.
func (g *planner) townName(patterns []string) (string, *town) {
	var name string
	var t *town
	for try := 0; try < 40; try++ {
		t = randomTown(g.r)
		name = fmt.Sprintf(pick(g.r, patterns), t.name)
		if !g.nameUsed(name) {
			break
		}
	}
	return name, t
}

// claimName gives p a unique name and slug. A name that is still in use after the
// sector's own retries gets a number: "Leeds Crown Court (2)".
func (g *planner) claimName(p *orgPlan, name string) {
	unique := name
	for n := 2; g.nameUsed(unique); n++ {
		unique = fmt.Sprintf("%s (%d)", name, n)
	}
	g.names[strings.ToLower(unique)] = true
	p.name = unique

	base := address.Slug(unique)
	slug := base
	for n := 2; g.slugs[slug] || g.domains[slug+"."+g.opts.Suffix]; n++ {
		number := fmt.Sprintf("-%d", n)
		slug = strings.TrimRight(cutLabel(base, address.MaxLabelLength-len(number)), "-") +
			number
	}
	g.slugs[slug] = true
	p.slug = slug
}

func cutLabel(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// assignStatusAndTimes sets each organisation's status and creation time. Most are
// active; a sub-organisation of a suspended or closed one shares its status.
func (g *planner) assignStatusAndTimes() {
	const day = 24 * time.Hour
	for _, p := range g.plans {
		switch x := g.r.IntN(1000); {
		case p.parent != nil && p.parent.status != store.StatusActive:
			p.status = p.parent.status
		case x < 15:
			p.status = store.StatusSuspended
		case x < 30:
			p.status = store.StatusClosed
		default:
			p.status = store.StatusActive
		}

		if p.parent == nil {
			span := 12*365*day - 30*day
			p.createdAt = g.now.Add(-30*day - time.Duration(g.r.Int64N(int64(span))))
		} else {
			since := g.now.Sub(p.parent.createdAt)
			p.createdAt = p.parent.createdAt.Add(time.Duration(g.r.Int64N(int64(since)*7/10 + 1)))
		}
		p.createdAt = p.createdAt.Truncate(time.Second)
	}
}

// assignDomains gives every organisation its primary domain, then spreads extra gateway
// domains over gateway organisations, one each in turn, until the dataset has its
// target. Hosted organisations have only their hosted domain, because the directory
// rejects gateway domains for them.
func (g *planner) assignDomains(extra int) error {
	for _, p := range g.plans {
		if p.kind == store.KindHosted {
			p.domains = []string{p.slug + "." + g.opts.Suffix}
			g.domains[p.domains[0]] = true
			continue
		}
		var name string
		if p.parent != nil && p.parent.kind == store.KindGateway {
			name = p.label + "." + p.parent.domains[0]
		} else {
			name = p.label + ".example"
		}
		claimed, err := g.claimDomain(name)
		if err != nil {
			return err
		}
		p.domains = []string{claimed}
	}

	var gateways []*orgPlan
	for _, p := range g.plans {
		if p.kind == store.KindGateway {
			gateways = append(gateways, p)
		}
	}
	// NOTE: with no gateway organisation at all, which only happens at tiny scales, the
	// dataset has fewer domains than ScaledCounts returns.
	for round := 0; extra > 0 && len(gateways) > 0; round++ {
		order := g.r.Perm(len(gateways))
		for _, i := range order {
			if extra == 0 {
				break
			}
			p := gateways[i]
			name, err := g.claimDomain(secondaryDomain(p, round))
			if err != nil {
				return err
			}
			p.domains = append(p.domains, name)
			extra--
		}
	}
	return nil
}

// secondaryDomain proposes an organisation's extra domain: a legacy or secure-mail
// domain of the kind organisations keep after mergers and renames.
func secondaryDomain(p *orgPlan, round int) string {
	primary := p.domains[0]
	first, _, _ := strings.Cut(primary, ".")
	withWord := func(word string) string {
		return strings.TrimRight(cutLabel(first, address.MaxLabelLength-len(word)), "-") + word
	}
	switch round % 4 {
	case 0:
		return withWord("-secure") + ".example"
	case 1:
		return p.slug + ".test"
	case 2:
		return "mail." + primary
	default:
		return withWord("-legacy") + ".test"
	}
}

// claimDomain returns name, or name with a number after its first label when name is
// taken or would fall under the community suffix, and marks the result taken.
func (g *planner) claimDomain(name string) (string, error) {
	first, rest, _ := strings.Cut(name, ".")
	candidate := name
	for n := 2; g.domains[candidate] || g.underSuffix(candidate); n++ {
		number := fmt.Sprintf("-%d", n)
		candidate = strings.TrimRight(cutLabel(first, address.MaxLabelLength-len(number)),
			"-") + number + "." + rest
		if n > 10_000 {
			return "", fmt.Errorf("dataset: no free variant of domain %s", name)
		}
	}
	canonical, err := address.ParseDomain(candidate)
	if err != nil {
		return "", fmt.Errorf("dataset: generated domain %q is invalid: %w", candidate, err)
	}
	g.domains[canonical] = true
	return canonical, nil
}

func (g *planner) underSuffix(domain string) bool {
	return domain == g.opts.Suffix || address.IsUnderSuffix(domain, g.opts.Suffix)
}

// assignPeople splits total people over sectors by their people share, and within a
// sector gives every organisation one person before spreading the rest by size.
func (g *planner) assignPeople(total int) {
	bySector := make([][]*orgPlan, len(sectors))
	orgCounts := make([]int, len(sectors))
	for _, p := range g.plans {
		i := sectorIndex(p.sector)
		bySector[i] = append(bySector[i], p)
		orgCounts[i]++
	}
	for _, p := range g.plans {
		if p.parent == nil {
			g.spreadSize(p, p.sizeWeight)
		}
	}
	quotas := apportion(total, sectorWeights(sectors, orgCounts))
	for i, plans := range bySector {
		quota := quotas[i]
		if quota <= 0 {
			continue
		}
		base := 0
		if quota >= len(plans) {
			base = 1
		}
		weights := make([]float64, len(plans))
		for j, p := range plans {
			weights[j] = p.sizeWeight
		}
		for j, n := range apportion(quota-base*len(plans), weights) {
			plans[j].people = base + n
		}
	}

	for _, p := range g.plans {
		if p.people > 0 {
			p.signatoryFirst, p.signatoryLast = pickName(g.r, p.town.nation)
		}
	}
}

// spreadSize splits the people weight of p's tree: a head office keeps headOffice of it
// and its sub-organisations share the rest at random.
func (g *planner) spreadSize(p *orgPlan, weight float64) {
	p.sizeWeight = weight
	if len(p.children) == 0 {
		return
	}
	p.sizeWeight = weight * p.sector.headOffice
	shares := make([]float64, len(p.children))
	sum := 0.0
	for i := range shares {
		shares[i] = g.lognormal(p.sector.sizeSpread)
		sum += shares[i]
	}
	for i, c := range p.children {
		g.spreadSize(c, weight*(1-p.sector.headOffice)*shares[i]/sum)
	}
}

func sectorIndex(s *sector) int {
	for i, x := range sectors {
		if x == s {
			return i
		}
	}
	panic("dataset: sector not in sectors")
}

// buildRows turns the plans into store rows.
func (d *Dataset) buildRows(g *planner) error {
	const day = 24 * time.Hour
	for _, p := range d.plans {
		o := store.Organisation{ID: d.orgID(p.index), Name: p.name, Slug: p.slug,
			Kind: p.kind, Status: p.status, Sector: p.sector.name,
			CreatedAt: p.createdAt}
		if p.parent != nil {
			o.ParentID = d.orgID(p.parent.index)
		}
		o.PostalAddress, o.Postcode = postalAddress(g.r, p.town, p.people > 50)
		o.UpdatedAt = between(g.r, p.createdAt, d.opts.Now)
		switch p.status {
		case store.StatusActive:
			o.TermsAcceptedAt = d.opts.Now.Add(-time.Duration(g.r.Int64N(int64(365 * day))))
		case store.StatusSuspended:
			o.TermsAcceptedAt = d.opts.Now.Add(-365*day -
				time.Duration(g.r.Int64N(int64(365*day))))
		}
		if o.TermsAcceptedAt.Before(p.createdAt) && !o.TermsAcceptedAt.IsZero() {
			o.TermsAcceptedAt = p.createdAt
		}
		o.TermsAcceptedAt = o.TermsAcceptedAt.Truncate(time.Second)
		if p.people > 0 {
			first, err := d.firstAddress(p)
			if err != nil {
				return err
			}
			o.SignatoryName = p.signatoryFirst + " " + p.signatoryLast
			o.SignatoryEmail = first
		}
		d.Organisations = append(d.Organisations, o)

		for k, name := range p.domains {
			d.Domains = append(d.Domains, d.domainRow(g.r, p, k, name))
		}
	}
	return nil
}

func (d *Dataset) domainRow(r *rand.Rand, p *orgPlan, k int, name string) store.Domain {
	const day = 24 * time.Hour
	dom := store.Domain{OrgID: d.orgID(p.index), Name: name, CreatedAt: p.createdAt}
	if p.kind == store.KindHosted {
		// As the directory creates it: verified at once, without a token.
		dom.Kind, dom.VerificationState = store.DomainHosted, store.VerificationVerified
		return dom
	}
	if k > 0 {
		dom.CreatedAt = between(r, p.createdAt, d.opts.Now)
	}
	dom.Kind = store.DomainGateway
	dom.VerificationToken = fmt.Sprintf("cjsm-verify=%016x%016x", r.Uint64(), r.Uint64())
	switch x := r.IntN(100); {
	case k == 0 || x < 95:
		dom.VerificationState = store.VerificationVerified
		dom.VerifiedAt = dom.CreatedAt.Add(time.Duration(r.Int64N(int64(7 * day)))).
			Truncate(time.Second)
	case x < 99:
		dom.VerificationState = store.VerificationPending
	default:
		dom.VerificationState = store.VerificationFailed
	}
	return dom
}

func (d *Dataset) orgID(index int) int64 { return d.opts.FirstOrgID + int64(index) }

// between returns a random time from a to b, to the second.
func between(r *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a))))).Truncate(time.Second)
}

// errNoPeople is returned by People for an index outside the dataset.
var errNoPeople = errors.New("dataset: organisation index out of range")
