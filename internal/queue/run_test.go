package queue

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// countingDeliverer records how many deliveries run at once per domain and accepts
// everything after a short wait.
type countingDeliverer struct {
	mu      sync.Mutex
	current map[string]int
	peak    map[string]int
	total   int
}

func (d *countingDeliverer) Deliver(ctx context.Context, route, domain string, env Envelope, msg []byte) (Result, error) {
	d.mu.Lock()
	d.current[domain]++
	if d.current[domain] > d.peak[domain] {
		d.peak[domain] = d.current[domain]
	}
	d.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	d.mu.Lock()
	d.current[domain]--
	d.total += len(env.Recipients)
	d.mu.Unlock()
	return Result{Remote: "mx." + domain, TLS: "TLS 1.3"}, nil
}

func TestPerDestinationLimitBoundsConcurrency(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := newTestQueue(t, st, "node")
	q.cfg.Workers, q.cfg.PerDestination, q.cfg.PollInterval = 8, 2, 20*time.Millisecond
	d := &countingDeliverer{current: map[string]int{}, peak: map[string]int{}}
	q.SetDeliverer(d, nil)
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		domain := "police.test"
		if i%2 == 1 {
			domain = "court.test"
		}
		if _, err := q.Accept(ctx, Incoming{From: "a@x.test", Data: []byte("Subject: x\r\n\r\nb\r\n"),
			Remotes: []RemoteRecipient{{Address: "r@" + domain, Domain: domain, Route: "trusted:" + domain}}}); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { q.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		total := d.total
		d.mu.Unlock()
		if total == 12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if d.total != 12 {
		t.Fatalf("delivered %d of 12", d.total)
	}
	for domain, peak := range d.peak {
		if peak > 2 {
			t.Errorf("%s had %d deliveries at once, want at most 2", domain, peak)
		}
	}
	if d.peak["police.test"] < 2 {
		t.Errorf("police.test peaked at %d deliveries at once; the limit of 2 was never used", d.peak["police.test"])
	}
}
