package dataset

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

//go:embed data/first_names.txt
var firstNamesText string

//go:embed data/surnames.txt
var surnamesText string

// origins are the name origins of the two lists, in the order weights use them.
var origins = []string{"english", "welsh", "scottish", "irish", "south-asian", "african",
	"caribbean", "eastern-european", "east-asian", "middle-eastern", "southern-european"}

// originWeights is the share of each origin among people in England. It is a rough
// picture of the UK workforce for realistic-looking data, not a statistic.
var originWeights = []float64{0.60, 0.04, 0.05, 0.05, 0.09, 0.04, 0.02, 0.04, 0.02,
	0.03, 0.02}

// nationBoost multiplies one origin's weight for organisations in the other nations.
var nationBoost = map[nation]struct {
	origin string
	factor float64
}{
	wales:           {"welsh", 8},
	scotland:        {"scottish", 10},
	northernIreland: {"irish", 12},
}

// nameLists contains the given names and family names of each origin.
type nameLists struct {
	first, last [][]string // indexed like origins
	weights     map[nation][]float64
}

var names = mustParseNames()

func mustParseNames() *nameLists {
	first, err := parseNameList("first_names.txt", firstNamesText)
	if err != nil {
		panic(err)
	}
	last, err := parseNameList("surnames.txt", surnamesText)
	if err != nil {
		panic(err)
	}
	n := &nameLists{first: first, last: last, weights: map[nation][]float64{}}
	for _, nat := range []nation{england, wales, scotland, northernIreland} {
		w := append([]float64(nil), originWeights...)
		if b, ok := nationBoost[nat]; ok {
			w[originIndex(b.origin)] *= b.factor
		}
		n.weights[nat] = w
	}
	return n
}

// parseNameList reads "[origin]" section headers and one name a line; "#" starts a
// comment line. Every origin must have at least one name.
func parseNameList(file, text string) ([][]string, error) {
	lists := make([][]string, len(origins))
	current := -1
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			current = originIndex(line[1 : len(line)-1])
			if current < 0 {
				return nil, fmt.Errorf("dataset: %s line %d: unknown origin %s; use one of %s",
					file, i+1, line, strings.Join(origins, ", "))
			}
		case current < 0:
			return nil, fmt.Errorf("dataset: %s line %d: name %q before any [origin]; "+
				"put a header such as [english] above it", file, i+1, line)
		default:
			lists[current] = append(lists[current], line)
		}
	}
	for i, l := range lists {
		if len(l) == 0 {
			return nil, fmt.Errorf("dataset: %s has no names of origin %s", file, origins[i])
		}
	}
	return lists, nil
}

func originIndex(name string) int {
	for i, o := range origins {
		if o == name {
			return i
		}
	}
	return -1
}

// pickName returns a given name and a family name for someone working in nat. Most
// people's two names share an origin, but for one in five the given name's origin is
// drawn separately.
func pickName(r *rand.Rand, nat nation) (first, last string) {
	w := names.weights[nat]
	lastOrigin := weightedIndex(r, w)
	firstOrigin := lastOrigin
	if r.IntN(5) == 0 {
		firstOrigin = weightedIndex(r, w)
	}
	first = skewedPick(r, names.first[firstOrigin])
	last = skewedPick(r, names.last[lastOrigin])
	if r.IntN(80) == 0 {
		// About one in eighty has a double-barrelled family name.
		second := skewedPick(r, names.last[weightedIndex(r, w)])
		if second != last && !strings.ContainsAny(last+second, " -") {
			last += "-" + second
		}
	}
	return first, last
}

// skewedPick picks from a list ordered from common to rare: the chance of an entry falls
// with its rank, so that the first name of a list of 150 comes up about 2% of the time.
func skewedPick(r *rand.Rand, list []string) string {
	i := int(float64(len(list)) * math.Pow(r.Float64(), 1.3))
	return list[min(i, len(list)-1)]
}

// weightedIndex returns i with probability w[i] / sum(w).
func weightedIndex(r *rand.Rand, w []float64) int {
	total := 0.0
	for _, v := range w {
		total += v
	}
	x := r.Float64() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}
