// Command karmada-webster times Karmada's Webster dispenser
// (github.com/karmada-io/karmada/pkg/util/helper.AllocateWebsterSeats) on the
// apportionment inputs written by bench/apportion-compare.ts, and prints the
// timings and the resulting allocations as JSON on stdout.
//
// Usage: karmada-webster <input.json>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/karmada-io/karmada/pkg/util/helper"
)

type inputCase struct {
	Total   int32   `json:"total"`
	Weights []int64 `json:"weights"`
}

type benchmark struct {
	Name  string      `json:"name"`
	Cases []inputCase `json:"cases"`
}

type input struct {
	Runs   int `json:"runs"`
	Warmup int `json:"warmup"`
	// EmitAllocations asks for the allocations of every case in the output.
	EmitAllocations bool        `json:"emitAllocations"`
	Benchmarks      []benchmark `json:"benchmarks"`
}

type result struct {
	Name     string    `json:"name"`
	RunsMs   []float64 `json:"runsMs"`
	MedianMs float64   `json:"medianMs"`
	MinMs    float64   `json:"minMs"`
	MaxMs    float64   `json:"maxMs"`
	// Allocations with Karmada's own tie-break (nil tieBreaker: fewer seats, then name).
	Allocations [][]int32 `json:"allocations,omitempty"`
	// Allocations with a tie-break on the member index (lower index wins), i.e. the
	// same rule as fleetscale's rank tie-break, for the correctness comparison.
	AllocationsIndexTie [][]int32 `json:"allocationsIndexTie,omitempty"`
}

type output struct {
	GoVersion  string   `json:"goVersion"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	Results    []result `json:"results"`
}

// prepared is one case as Karmada's API takes it: votes keyed by member name.
// Names are zero-padded so that name order is index order.
type prepared struct {
	total int32
	votes map[string]int64
	names []string
}

func prepare(cases []inputCase) []prepared {
	out := make([]prepared, len(cases))
	for i, c := range cases {
		p := prepared{total: c.Total, votes: make(map[string]int64, len(c.Weights)), names: make([]string, len(c.Weights))}
		for m, w := range c.Weights {
			name := fmt.Sprintf("m%06d", m)
			p.names[m] = name
			p.votes[name] = w
		}
		out[i] = p
	}
	return out
}

func indexTie(a, b helper.Party) bool { return a.Name < b.Name }

func allocate(p prepared, tie func(a, b helper.Party) bool) []int32 {
	parties := helper.AllocateWebsterSeats(p.total, p.votes, nil, tie)
	seats := make(map[string]int32, len(parties))
	for _, party := range parties {
		seats[party.Name] = party.Seats
	}
	alloc := make([]int32, len(p.names))
	for m, name := range p.names {
		alloc[m] = seats[name]
	}
	return alloc
}

// sink keeps the compiler from discarding the timed calls.
var sink int

func runAll(cases []prepared) {
	for _, p := range cases {
		sink += len(helper.AllocateWebsterSeats(p.total, p.votes, nil, nil))
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: karmada-webster <input.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	if in.Runs <= 0 {
		in.Runs = 15
	}

	out := output{GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	for _, b := range in.Benchmarks {
		cases := prepare(b.Cases)
		for i := 0; i < in.Warmup; i++ {
			runAll(cases)
		}
		r := result{Name: b.Name, RunsMs: make([]float64, in.Runs)}
		for i := 0; i < in.Runs; i++ {
			runtime.GC() // start every run from a clean heap, like the Node side after warm-up
			start := time.Now()
			runAll(cases)
			r.RunsMs[i] = float64(time.Since(start).Nanoseconds()) / 1e6
		}
		sorted := append([]float64(nil), r.RunsMs...)
		sort.Float64s(sorted)
		r.MinMs, r.MaxMs = sorted[0], sorted[len(sorted)-1]
		if n := len(sorted); n%2 == 1 {
			r.MedianMs = sorted[n/2]
		} else {
			r.MedianMs = (sorted[n/2-1] + sorted[n/2]) / 2
		}
		if in.EmitAllocations {
			r.Allocations = make([][]int32, len(cases))
			r.AllocationsIndexTie = make([][]int32, len(cases))
			for i, p := range cases {
				r.Allocations[i] = allocate(p, nil)
				r.AllocationsIndexTie[i] = allocate(p, indexTie)
			}
		}
		out.Results = append(out.Results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
