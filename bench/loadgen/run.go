package main

import (
	"context"
	"crypto/tls"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is the measurements of one run, merged from every worker.
type result struct {
	start, end  time.Time
	ok          int
	errors      int
	connections int
	latencies   []time.Duration // end of DATA to the 250 reply, one per message accepted
	tlsVersion  string
	tlsGroup    string

	mu        sync.Mutex
	errorText map[string]int
}

// errorCount is one distinct error and how often it occurred.
type errorCount struct {
	text  string
	count int
}

func (r *result) addError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errorText == nil {
		r.errorText = map[string]int{}
	}
	r.errorText[err.Error()]++
}

// errorCounts returns the distinct errors, most frequent first.
func (r *result) errorCounts() []errorCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]errorCount, 0, len(r.errorText))
	for text, count := range r.errorText {
		out = append(out, errorCount{text: text, count: count})
	}
	slices.SortFunc(out, func(a, b errorCount) int { return b.count - a.count })
	return out
}

// percentile returns the p-th percentile of the latencies by the nearest-rank method
// (p = 100 gives the maximum), or 0 when there are none. latencies must be sorted.
func (r *result) percentile(p float64) time.Duration {
	return percentile(r.latencies, p)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// workerResult is the measurements of one worker.
type workerResult struct {
	ok, errors, connections int
	latencies               []time.Duration
	tlsVersion, tlsGroup    string
}

// run sends opts.n messages from opts.concurrency workers that take message numbers from
// one counter, so that a slow session does not hold up the others' share.
func run(ctx context.Context, opts options, tlsConfig *tls.Config) *result {
	filler := newFiller(opts.size)
	var next atomic.Int64
	res := &result{}
	results := make([]workerResult, opts.concurrency)

	var wg sync.WaitGroup
	res.start = time.Now()
	for w := range opts.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = work(ctx, opts, tlsConfig, filler, &next, res)
		}()
	}
	wg.Wait()
	res.end = time.Now()

	for _, wr := range results {
		res.ok += wr.ok
		res.errors += wr.errors
		res.connections += wr.connections
		res.latencies = append(res.latencies, wr.latencies...)
		if res.tlsVersion == "" {
			res.tlsVersion, res.tlsGroup = wr.tlsVersion, wr.tlsGroup
		}
	}
	slices.Sort(res.latencies)
	return res
}

// work is one worker's loop: it sends messages until the counter passes opts.n. After an
// error it drops the connection and opens a new one for the next message.
func work(ctx context.Context, opts options, tlsConfig *tls.Config, filler []byte,
	next *atomic.Int64, res *result) workerResult {
	var wr workerResult
	var s *session
	defer func() {
		if s != nil {
			s.quit()
		}
	}()
	for ctx.Err() == nil {
		i := int(next.Add(1) - 1)
		if i >= opts.n {
			break
		}
		if s != nil {
			if err := s.reset(); err != nil {
				wr.errors++
				res.addError(err)
				s.close()
				s = nil
			}
		}
		if s == nil {
			var err error
			if s, err = dial(ctx, opts, tlsConfig); err != nil {
				wr.errors++
				res.addError(err)
				s = nil
				continue
			}
			wr.connections++
			if wr.tlsVersion == "" {
				wr.tlsVersion, wr.tlsGroup = s.tlsVersion, s.tlsGroup
			}
		}

		msg := buildMessage(opts, i, filler)
		latency, err := s.send(opts.from, opts.to, msg)
		if err != nil {
			wr.errors++
			res.addError(err)
			s.close()
			s = nil
			continue
		}
		wr.ok++
		wr.latencies = append(wr.latencies, latency)
		if !opts.reuse {
			s.quit()
			s = nil
		}
	}
	return wr
}
